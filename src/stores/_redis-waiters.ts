/**
 * Cross-process wake-ups for the Redis store: one subscriber connection per store (per
 * process, in practice), subscribed only to the release channels of records some local
 * request is waiting for.
 *
 * The protocol, and why no release is missed:
 * 1. A "busy" acquire marks the record `waiting` in the same script (acquire.lua).
 * 2. The waiter subscribes to the record's channel. A release that happens after the
 *    subscription is confirmed publishes (the record is marked), so it is heard.
 * 3. A release that happened between 1 and the confirmation is caught by `watch.lua`,
 *    run right after the confirmation: it answers "free now" (wake at once) or marks the
 *    record `waiting` again, so the next release publishes.
 * Once a channel is subscribed it stays so for {@link LINGER_MS} after its last waiter,
 * so a hot session pays the subscribe round trip once, not on every wait.
 */
import type { Cluster, Redis } from 'ioredis';

/** How long a channel stays subscribed after its last waiter left, in ms. */
const LINGER_MS = 10_000;

interface Waiter {
  wake(): void;
  fail(error: unknown): void;
}

interface Channel {
  readonly recordKey: string;
  readonly waiters: Set<Waiter>;
  subscribed: boolean;
  idleTimer: NodeJS.Timeout | undefined;
}

/** What the waiters need from the store. */
export interface ReleaseWaitersOptions {
  /** Creates the subscriber connection; called once, on the first wait. */
  createSubscriber(): Redis | Cluster;
  /** Sharded pub/sub (SSUBSCRIBE, Redis Cluster) instead of SUBSCRIBE. */
  readonly sharded: boolean;
  /** Runs watch.lua on the record: true when the lease is free now. */
  watch(recordKey: string): Promise<boolean>;
  /** Receives failures that no caller waits for (an unsubscribe that failed). */
  onBackgroundError(error: unknown): void;
}

/** The release waiters of one store. */
export class ReleaseWaiters {
  readonly #options: ReleaseWaitersOptions;
  readonly #channels = new Map<string, Channel>();
  #subscriber: Redis | Cluster | undefined;
  #lastConnectionError: unknown;
  #closed = false;

  constructor(options: ReleaseWaitersOptions) {
    this.#options = options;
  }

  /** Resolves when a release of `recordKey` is published, or after `timeoutMs`. */
  wait(recordKey: string, channelName: string, timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let channel = this.#channels.get(channelName);
      const waiter: Waiter = {
        wake: () => {
          clearTimeout(timer);
          this.#leave(channelName, waiter);
          resolve();
        },
        fail: (error) => {
          clearTimeout(timer);
          this.#leave(channelName, waiter);
          reject(error);
        },
      };
      const timer = setTimeout(waiter.wake, timeoutMs);
      if (channel === undefined) {
        channel = { recordKey, waiters: new Set(), subscribed: false, idleTimer: undefined };
        this.#channels.set(channelName, channel);
        channel.waiters.add(waiter);
        void this.#subscribe(channelName, channel);
        return;
      }
      clearTimeout(channel.idleTimer);
      channel.idleTimer = undefined;
      channel.waiters.add(waiter);
    });
  }

  /** Wake every waiter and close the subscriber connection. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const channel of this.#channels.values()) {
      clearTimeout(channel.idleTimer);
      for (const waiter of channel.waiters) waiter.wake();
    }
    this.#channels.clear();
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    if (subscriber !== undefined) subscriber.disconnect();
  }

  #connection(): Redis | Cluster {
    if (this.#subscriber !== undefined) return this.#subscriber;
    const subscriber = this.#options.createSubscriber();
    // The client reconnects (and resubscribes) by itself; the error is kept as the cause
    // for a subscription that fails, and the store's own commands report the outage.
    subscriber.on('error', (error: unknown) => {
      this.#lastConnectionError = error;
    });
    const onMessage = (channelName: unknown): void => this.#heard(String(channelName));
    subscriber.on(this.#options.sharded ? 'smessage' : 'message', onMessage);
    this.#subscriber = subscriber;
    return subscriber;
  }

  async #subscribe(channelName: string, channel: Channel): Promise<void> {
    try {
      const subscriber = this.#connection();
      await (this.#options.sharded ? subscriber.ssubscribe(channelName) : subscriber.subscribe(channelName));
      channel.subscribed = true;
      // Close the window between the waiter's "busy" answer and this subscription.
      if (channel.waiters.size > 0 && (await this.#options.watch(channel.recordKey))) this.#heard(channelName);
    } catch (error) {
      this.#channels.delete(channelName);
      clearTimeout(channel.idleTimer);
      const failure = error instanceof Error && error.cause === undefined && this.#lastConnectionError !== undefined
        ? new Error(error.message, { cause: this.#lastConnectionError })
        : error;
      for (const waiter of [...channel.waiters]) waiter.fail(failure);
      if (channel.subscribed) this.#unsubscribe(channelName);
    }
  }

  #heard(channelName: string): void {
    const channel = this.#channels.get(channelName);
    if (channel === undefined) return;
    for (const waiter of [...channel.waiters]) waiter.wake();
  }

  #leave(channelName: string, waiter: Waiter): void {
    const channel = this.#channels.get(channelName);
    if (channel === undefined || !channel.waiters.delete(waiter) || channel.waiters.size > 0 || this.#closed) return;
    if (!channel.subscribed) return;
    channel.idleTimer = setTimeout(() => {
      if (channel.waiters.size > 0) return;
      this.#channels.delete(channelName);
      this.#unsubscribe(channelName);
    }, LINGER_MS);
    channel.idleTimer.unref();
  }

  #unsubscribe(channelName: string): void {
    const subscriber = this.#subscriber;
    if (subscriber === undefined) return;
    const done = this.#options.sharded ? subscriber.sunsubscribe(channelName) : subscriber.unsubscribe(channelName);
    // A failed unsubscribe only leaves a few stray messages, which #heard ignores; still
    // reported, never dropped.
    done.catch((error: unknown) => this.#options.onBackgroundError(error));
  }
}

// express4 is an npm alias of express@4; its API here is the same as Express 5's types.
declare module 'express4' {
  import express from 'express';
  export default express;
}

// cookie-signature ships no types; the tests use it as the reference signer.
declare module 'cookie-signature' {
  export function sign(value: string, secret: string): string;
  export function unsign(input: string, secret: string): string | false;
}

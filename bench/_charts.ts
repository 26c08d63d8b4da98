// Hand-written SVG bar charts: one horizontal bar per row, with a min–max whisker.

/** One bar. */
export interface Bar {
  readonly label: string;
  /** Undefined draws no bar and writes `note` instead (e.g. "not available"). */
  readonly value: number | undefined;
  readonly min?: number;
  readonly max?: number;
  /** Colour group: sessionlock, its peers, the ceilings, or a neutral series. */
  readonly group: 'sessionlock' | 'peer' | 'ceiling' | 'other';
  readonly note?: string;
}

/** A chart. */
export interface Chart {
  readonly title: string;
  /** Axis unit, e.g. `req/s`. */
  readonly unit: string;
  readonly bars: readonly Bar[];
}

const COLOURS: Record<Bar['group'], string> = {
  sessionlock: '#2563eb',
  peer: '#f59e0b',
  ceiling: '#9ca3af',
  other: '#10b981',
};

const LABEL_WIDTH = 330;
const PLOT_WIDTH = 470;
const VALUE_WIDTH = 110;
const ROW_HEIGHT = 22;
const TOP = 46;

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function label(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  return String(Number(value.toFixed(1)));
}

/** Render `chart` as a standalone SVG document. */
export function renderChart(chart: Chart): string {
  const scaleMax = Math.max(1e-9, ...chart.bars.flatMap((bar) => [bar.value ?? 0, bar.max ?? 0]));
  const x = (value: number): number => LABEL_WIDTH + (value / scaleMax) * PLOT_WIDTH;
  const width = LABEL_WIDTH + PLOT_WIDTH + VALUE_WIDTH;
  const height = TOP + chart.bars.length * ROW_HEIGHT + 30;
  const rows = chart.bars.map((bar, index) => {
    const y = TOP + index * ROW_HEIGHT;
    const middle = y + ROW_HEIGHT / 2;
    const parts = [`<text x="${LABEL_WIDTH - 8}" y="${middle + 4}" text-anchor="end">${escapeXml(bar.label)}</text>`];
    if (bar.value === undefined) {
      parts.push(`<text x="${LABEL_WIDTH + 4}" y="${middle + 4}" fill="#6b7280">${escapeXml(bar.note ?? 'not measured')}</text>`);
      return parts.join('');
    }
    parts.push(
      `<rect x="${LABEL_WIDTH}" y="${y + 3}" width="${Math.max(1, x(bar.value) - LABEL_WIDTH).toFixed(1)}" height="${ROW_HEIGHT - 6}" fill="${COLOURS[bar.group]}"/>`,
    );
    if (bar.min !== undefined && bar.max !== undefined && bar.max > bar.min) {
      parts.push(
        `<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${middle}" y2="${middle}" stroke="#111827"/>`,
        `<line x1="${x(bar.min).toFixed(1)}" x2="${x(bar.min).toFixed(1)}" y1="${middle - 4}" y2="${middle + 4}" stroke="#111827"/>`,
        `<line x1="${x(bar.max).toFixed(1)}" x2="${x(bar.max).toFixed(1)}" y1="${middle - 4}" y2="${middle + 4}" stroke="#111827"/>`,
      );
    }
    const valueX = Math.max(x(bar.value), x(bar.max ?? 0)) + 6;
    parts.push(`<text x="${valueX.toFixed(1)}" y="${middle + 4}">${label(bar.value)}${bar.note === undefined ? '' : ` ${escapeXml(bar.note)}`}</text>`);
    return parts.join('');
  });
  const axisY = TOP + chart.bars.length * ROW_HEIGHT + 4;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    `<text x="10" y="36" fill="#4b5563">bar: median, whisker: min–max over the repetitions; blue: sessionlock, orange: peers, grey: ceilings</text>`,
    ...rows,
    `<line x1="${LABEL_WIDTH}" x2="${LABEL_WIDTH + PLOT_WIDTH}" y1="${axisY}" y2="${axisY}" stroke="#d1d5db"/>`,
    `<text x="${LABEL_WIDTH}" y="${axisY + 16}" fill="#4b5563">0</text>`,
    `<text x="${LABEL_WIDTH + PLOT_WIDTH}" y="${axisY + 16}" text-anchor="end" fill="#4b5563">${label(scaleMax)} ${escapeXml(chart.unit)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}

// Values and periods as a person reads them, in the browser's locale (Intl.NumberFormat): each
// metric's `format` decides the style — currency and numbers grouped, percent with one decimal,
// durations in hours and minutes. The rules follow semantic_layer/display.py, which the command
// line and alert messages use, so a number reads alike everywhere.

export const LOCALE = chooseLocale(new URLSearchParams(location.search).get('locale'));

function chooseLocale(asked) {
  for (const candidate of [asked, navigator.language]) {
    try {
      if (candidate) return Intl.getCanonicalLocales(candidate)[0];
    } catch {
      // not a locale tag: try the next
    }
  }
  return 'en';
}

const formats = new Map();

function numberFormat(options) {
  const key = JSON.stringify(options);
  let found = formats.get(key);
  if (!found) {
    found = new Intl.NumberFormat(LOCALE, options);
    formats.set(key, found);
  }
  return found;
}

/** A metric value in its format; `compact` for KPIs and axes (1.2M, 1.2亿). */
export function formatValue(value, format, { compact = false } = {}) {
  if (value === null || value === undefined || value === '') return '—';
  if (typeof value !== 'number') return String(value);
  if (!Number.isFinite(value)) return String(value);
  switch (format) {
    case 'percent':
      return numberFormat({ style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value);
    case 'duration_seconds':
      return formatDuration(value);
    case 'integer':
      return compact && Math.abs(value) >= 10000
        ? numberFormat({ notation: 'compact', maximumFractionDigits: 1 }).format(value)
        : numberFormat({ maximumFractionDigits: 0 }).format(value);
    case 'currency':
      return compact
        ? numberFormat({ notation: 'compact', maximumFractionDigits: 1 }).format(value)
        : numberFormat({ minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(value);
    default:
      if (compact && Math.abs(value) >= 10000) {
        return numberFormat({ notation: 'compact', maximumFractionDigits: 1 }).format(value);
      }
      return Math.abs(value) < 1000
        ? numberFormat({ maximumSignificantDigits: 4 }).format(value)
        : numberFormat({ maximumFractionDigits: 2 }).format(value);
  }
}

/** 5025 s → "1h 23m"; under an hour "23m"; over two days "2d 3h". */
export function formatDuration(seconds) {
  const minutes = Math.round(seconds / 60);
  const hours = Math.floor(minutes / 60);
  if (hours >= 48) return `${Math.floor(hours / 24)}d ${hours % 24}h`;
  if (hours) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${minutes}m`;
}

/** The change of `value` against `before`: percentage points for percent metrics, else relative. */
export function formatChange(value, before, format) {
  if (typeof value !== 'number' || typeof before !== 'number') return null;
  if (format === 'percent') {
    const points = (value - before) * 100;
    return { delta: points, text: `${points >= 0 ? '+' : ''}${numberFormat({ maximumFractionDigits: 1 }).format(points)} pt` };
  }
  if (before === 0) return null;
  const ratio = value / before - 1;
  const text = numberFormat({ style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' }).format(ratio);
  return { delta: ratio, text };
}

// -- periods ----------------------------------------------------------------------------------

/** A period start as answers hold it ("2025-09-01" or "2025-09-01T08:00:00") → its parts. */
export function parsePeriod(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(String(iso));
  if (!m) return null;
  return { y: +m[1], mo: +m[2], d: +m[3], h: +(m[4] || 0), mi: +(m[5] || 0), s: +(m[6] || 0), time: Boolean(m[4]) };
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** The period starting at `iso`, named as display.period_label names it: 2025-09, 2025-Q3, 2025. */
export function periodLabel(iso, grain) {
  const p = parsePeriod(iso);
  if (!p) return String(iso);
  switch (grain) {
    case 'hour':
      return `${p.y}-${pad(p.mo)}-${pad(p.d)} ${pad(p.h)}:00`;
    case 'month':
      return `${p.y}-${pad(p.mo)}`;
    case 'quarter':
      return `${p.y}-Q${Math.floor((p.mo - 1) / 3) + 1}`;
    case 'year':
      return String(p.y);
    default:
      return `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
  }
}

/** A key comparing periods whatever their spelling (a date, or a date and midnight). */
export function periodKey(iso) {
  const p = parsePeriod(iso);
  if (!p) return String(iso);
  return `${p.y}-${pad(p.mo)}-${pad(p.d)}T${pad(p.h)}:${pad(p.mi)}`;
}

const UNIT_MONTHS = { month: 1, quarter: 3, year: 12 };
const UNIT_HOURS = { hour: 1, day: 24, week: 168 };

/** '12 months' → {count: 12, unit: 'month'} (the layer's interval spelling). */
export function parseInterval(text) {
  const m = /^\s*(\d+)\s+(hour|day|week|month|quarter|year)s?\s*$/i.exec(String(text));
  return m ? { count: +m[1], unit: m[2].toLowerCase() } : null;
}

/** `iso` moved by `count` units (calendar months clamp to the month's end, as the layer does),
 *  written as it came: a date stays a date. */
export function shiftPeriod(iso, count, unit) {
  const p = parsePeriod(iso);
  if (!p) return iso;
  let { y, mo, d, h } = p;
  if (UNIT_MONTHS[unit]) {
    const index = y * 12 + (mo - 1) + count * UNIT_MONTHS[unit];
    y = Math.floor(index / 12);
    mo = (index % 12) + 1;
    d = Math.min(d, new Date(Date.UTC(y, mo, 0)).getUTCDate());
  } else {
    const moved = new Date(Date.UTC(y, mo - 1, d, h) + count * UNIT_HOURS[unit] * 3600 * 1000);
    [y, mo, d, h] = [moved.getUTCFullYear(), moved.getUTCMonth() + 1, moved.getUTCDate(), moved.getUTCHours()];
  }
  const day = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
  return p.time ? `${day}T${pad(h)}:${pad(p.mi)}:${pad(p.s)}` : day;
}

/** A dimension ref's label (its grain left out), from the labels a page was given. */
export function dimensionLabel(ctx, ref) {
  const base = String(ref).split(':')[0];
  const d = ctx.dimensions.get(base);
  return (d && d.label) || base;
}

/** Whether an answer's column holds periods (a time dimension at a grain). */
export function isTime(column) {
  return Boolean(column) && (column.type === 'date' || column.type === 'timestamp' || column.type === 'time');
}

/** A dimension value as a cell or an axis shows it. */
export function formatMember(value, column, grain) {
  if (value === null || value === undefined) return '∅';
  if (isTime(column)) return periodLabel(value, grain || grainOf(column.name));
  if (typeof value === 'number') return numberFormat({ maximumFractionDigits: 6 }).format(value);
  return String(value);
}

/** 'metric_time:quarter' → 'quarter'; a ref without a grain → 'day'. */
export function grainOf(ref) {
  const i = String(ref).lastIndexOf(':');
  return i < 0 ? 'day' : ref.slice(i + 1);
}

/** Threshold level of `value` under `thresholds` ({warn: {above, below}, critical: {...}}): as
 *  semantic_layer/alerts.py judges it — critical first, a bound crossed when strictly beyond. */
export function thresholdLevel(value, thresholds) {
  if (typeof value !== 'number' || !thresholds) return null;
  for (const level of ['critical', 'warn']) {
    const bound = thresholds[level];
    if (!bound) continue;
    if (bound.above !== undefined && bound.above !== null && value > bound.above) return level;
    if (bound.below !== undefined && bound.below !== null && value < bound.below) return level;
  }
  return 'ok';
}

/** 'warn > 8.0%, critical > 12.0% per quarter' (as the catalogue's thresholds text). */
export function thresholdsText(thresholds, format) {
  if (!thresholds) return '';
  const levels = [];
  for (const level of ['warn', 'critical']) {
    const bound = thresholds[level];
    if (!bound) continue;
    const sides = [];
    if (bound.below !== undefined && bound.below !== null) sides.push(`< ${formatValue(bound.below, format)}`);
    if (bound.above !== undefined && bound.above !== null) sides.push(`> ${formatValue(bound.above, format)}`);
    levels.push(`${level} ${sides.join(' or ')}`);
  }
  return `${levels.join(', ') || 'no levels'} per ${String(thresholds.grain || 'month').replace('_', ' ')}`;
}

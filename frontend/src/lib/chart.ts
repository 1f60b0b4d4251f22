/** Scales for the bar charts: a round top for the y axis, its ticks, which x labels to show. */

/** One bar: its value and, drawn over it in red, the part of it that went wrong. */
export interface Bar {
  key: string
  label: string
  value: number
  part?: number
}

/**
 * A round upper bound for the y axis: the highest value (at least `minimum`)
 * rounded up at its leading digit, so 37 gives 40 and 0.37 gives 0.4.
 */
export function niceMax(values: readonly number[], minimum = 0): number {
  const highest = Math.max(minimum, ...values)
  if (!(highest > 0)) return 1
  const step = 10 ** Math.floor(Math.log10(highest))
  return Math.ceil(highest / step - 1e-9) * step
}

/** Five ticks from 0 to `max`; whole numbers when `whole`. */
export function ticks(max: number, whole: boolean): number[] {
  return [0, 0.25, 0.5, 0.75, 1].map((fraction) => (whole ? Math.round(max * fraction) : max * fraction))
}

/**
 * How many x labels of `longest` characters fit side by side in `width`
 * (both in the chart's own units, its font 11 units high).
 */
export function labelsThatFit(width: number, longest: number): number {
  return Math.max(2, Math.floor(width / (longest * 6.5 + 10)))
}

/** Whether bar `index` of `count` gets its label: at most `most` labels, the newest always. */
export function showsLabel(index: number, count: number, most = 8): boolean {
  const every = Math.max(1, Math.ceil(count / most))
  return (count - 1 - index) % every === 0
}

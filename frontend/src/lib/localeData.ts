/**
 * The browser's first Intl formatter loads the locale data (ICU) for the whole process: 40–80 ms
 * in one go, a long task wherever it happens on the page's thread, and it cannot be split.
 * Loaded by a worker on a thread of its own while the page starts, it costs the page nothing:
 * the page's formatters then find the data loaded.
 */
export function loadLocaleDataAside(): void {
  if (typeof Worker !== 'function') return
  const worker = new Worker(new URL('./localeData.worker.ts', import.meta.url), { type: 'module' })
  // The worker has nothing to say: it closes itself once done; an error only means no head start.
  worker.onerror = () => worker.terminate()
}

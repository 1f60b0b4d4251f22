/** A stand-in for the browser's EventSource that tests drive by hand. */
export class MockEventSource {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSED = 2
  static instances: MockEventSource[] = []

  readonly url: string
  readyState = MockEventSource.CONNECTING
  private listeners = new Map<string, ((event: Event) => void)[]>()

  constructor(url: string) {
    this.url = url
    MockEventSource.instances.push(this)
  }

  static reset(): void {
    MockEventSource.instances = []
  }

  static latest(): MockEventSource {
    const source = MockEventSource.instances[MockEventSource.instances.length - 1]
    if (!source) throw new Error('no EventSource was opened')
    return source
  }

  addEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener])
  }

  removeEventListener(type: string, listener: (event: Event) => void): void {
    this.listeners.set(
      type,
      (this.listeners.get(type) ?? []).filter((l) => l !== listener),
    )
  }

  close(): void {
    this.readyState = MockEventSource.CLOSED
  }

  private dispatch(type: string, event: Event): void {
    if (this.readyState === MockEventSource.CLOSED) return
    for (const listener of this.listeners.get(type) ?? []) listener(event)
  }

  open(): void {
    this.readyState = MockEventSource.OPEN
    this.dispatch('open', new Event('open'))
  }

  emit(type: string, data: unknown, lastEventId = ''): void {
    this.dispatch(type, new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data), lastEventId }))
  }

  /** A dropped connection, as the browser reports it. */
  fail(): void {
    this.readyState = MockEventSource.CONNECTING
    this.dispatch('error', new Event('error'))
  }
}

export function logEvent(seq: number, content = `line ${seq}`, stream: 'stdout' | 'stderr' = 'stdout') {
  return { seq, stream, content, timestamp: '2026-11-24T10:00:00Z' }
}

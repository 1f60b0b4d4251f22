/**
 * Spreading work over several tasks, so that no one task blocks the page for long.
 *
 * The browser lays out and paints between tasks; work done in the same task as a large
 * render (reading a size forces the layout there and then) adds up into one long task.
 * `afterPaint` waits until what was rendered has been laid out and painted, so the work
 * after it runs in a task of its own and finds the layout done.
 */

/** Resolves in a new task: the work after it is not added to the task that is running. */
export function nextTask(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0))
}

/** A hidden tab draws no frames: past this, a wait for one goes on without it. */
const NO_FRAME_MS = 100

/** Resolves in a new task after the next frame: what was rendered before has been laid out. */
function nextFrame(): Promise<void> {
  return new Promise((resolve) => {
    const fallback = setTimeout(resolve, NO_FRAME_MS)
    if (typeof requestAnimationFrame !== 'function') return
    // A frame callback runs just before that frame's layout; the timeout after it, once it is done.
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(fallback)
        resolve()
      }, 0),
    )
  })
}

let turns: Promise<void> = Promise.resolve()

/**
 * Resolves in a task of its own once what is rendered now has been laid out and drawn. Waits
 * are served one per frame, in order: work done after one (which may change the layout) is
 * laid out by the browser before the next resumes, so none forces another's layout.
 */
export function afterPaint(): Promise<void> {
  const turn = turns.then(nextFrame)
  turns = turn
  return turn
}

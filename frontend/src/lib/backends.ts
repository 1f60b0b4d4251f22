/**
 * What the dashboard knows about backends beyond the API's types: their names
 * for people, which CLI a new bot gets by default, and the example bot that
 * runs on any machine.
 */
import type { BackendType, BotInput, InstalledBackend } from '@/api/types'

export const BACKEND_LABELS: Record<BackendType, string> = {
  claude: 'Claude Code',
  codex: 'Codex',
  gemini: 'Gemini CLI',
  opencode: 'opencode',
  command: 'Custom command',
}

/** The AI CLIs in the order a new bot prefers them; `command` is the fallback that always works. */
export const CLI_PREFERENCE: readonly BackendType[] = ['claude', 'codex', 'gemini', 'opencode']

/** The AI CLIs installed on the server, in order of preference. */
export function installedClis(backends: readonly InstalledBackend[]): InstalledBackend[] {
  return CLI_PREFERENCE.flatMap((type) => backends.filter((backend) => backend.backend_type === type && backend.installed))
}

/** The backend a new bot starts with: the first installed CLI, else `command`. */
export function preferredBackend(backends: readonly InstalledBackend[]): BackendType {
  return installedClis(backends)[0]?.backend_type ?? 'command'
}

export function isBackendType(value: unknown): value is BackendType {
  return typeof value === 'string' && value in BACKEND_LABELS
}

/**
 * A bot that needs no AI CLI: it runs `echo` (an argv list, no shell) on its
 * prompt, so its first run shows what a run looks like on any machine.
 */
export const EXAMPLE_BOT: BotInput = {
  name: 'Hello, Agented',
  backend_type: 'command',
  command: ['echo', '{prompt}'],
  prompt_template: 'Hello from your first bot! It ran `echo` with this prompt. Your message: {message}',
  trigger_source: 'manual',
}

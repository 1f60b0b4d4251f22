/**
 * The account form's state and what it sends. Plain variables are edited as
 * name/value rows. Secret variables are write-only: the server shows only
 * their names, so an edit keeps them, replaces the whole set, or clears it.
 */
import type { Account, AccountInput, BackendType } from '@/api/types'
import { spendLimitErrors, spendLimitTexts, spendLimitValues, type SpendLimitTexts } from './spendLimits'

export interface EnvRow {
  name: string
  value: string
}

export type SecretsChange = 'keep' | 'replace' | 'clear'

export interface AccountForm {
  name: string
  backend: BackendType
  is_default: boolean
  env: EnvRow[]
  /** New secret values, sent when `secrets` is 'replace' (always, when creating). */
  secretRows: EnvRow[]
  secrets: SecretsChange
  /** Its spend limits per UTC day and month; empty is none. */
  limits: SpendLimitTexts
}

/** What the server accepts as a variable name (models.EnvName). */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

export function formFor(account: Account | null, backend: BackendType): AccountForm {
  return {
    name: account?.name ?? '',
    backend: account?.backend ?? backend,
    is_default: account?.is_default ?? false,
    env: Object.entries(account?.env ?? {}).map(([name, value]) => ({ name, value })),
    secretRows: [],
    secrets: account ? 'keep' : 'replace',
    limits: spendLimitTexts(account),
  }
}

export type Checked<T> = { ok: true; value: T } | { ok: false; field: string; error: string }

/** The rows as an object; rows left blank are dropped, a bad or repeated name is refused. */
export function rowsToEnv(rows: readonly EnvRow[], field: string): Checked<Record<string, string>> {
  const env: Record<string, string> = {}
  for (const row of rows) {
    const name = row.name.trim()
    if (!name && !row.value) continue
    if (!ENV_NAME.test(name)) {
      return { ok: false, field, error: `${field}: ${JSON.stringify(name)} is not a variable name (letters, digits, _)` }
    }
    if (name in env) return { ok: false, field, error: `${field}: ${name} is listed twice` }
    env[name] = row.value
  }
  return { ok: true, value: env }
}

/** The request body for the form: every field, and `secret_env` only when it changes. */
export function accountBody(form: AccountForm): Checked<AccountInput> {
  const env = rowsToEnv(form.env, 'env')
  if (!env.ok) return env
  const [limit, problem] = Object.entries(spendLimitErrors(form.limits))[0] ?? []
  if (limit && problem) return { ok: false, field: limit, error: problem }
  const body: AccountInput = {
    name: form.name.trim(),
    backend: form.backend,
    is_default: form.is_default,
    env: env.value,
    ...spendLimitValues(form.limits),
  }
  if (form.secrets === 'clear') return { ok: true, value: { ...body, secret_env: null } }
  if (form.secrets === 'keep') return { ok: true, value: body }
  const secrets = rowsToEnv(form.secretRows, 'secret_env')
  if (!secrets.ok) return secrets
  return { ok: true, value: { ...body, secret_env: secrets.value } }
}

/**
 * Spend limits as the bot and account forms edit them. Bots and accounts share
 * one record on the server (models.SpendLimits), so they share one form shape:
 * each limit is a text field, empty for "no limit", sent as null when empty
 * (a cleared limit is removed, not kept).
 */
import type { SpendLimits } from '@/api/types'

export const SPEND_LIMIT_FIELDS = [
  'daily_usd_limit',
  'monthly_usd_limit',
  'daily_token_limit',
  'monthly_token_limit',
] as const satisfies readonly (keyof SpendLimits)[]

export type SpendLimitField = (typeof SPEND_LIMIT_FIELDS)[number]
export type SpendLimitTexts = Record<SpendLimitField, string>

export const SPEND_LIMIT_LABELS: Record<SpendLimitField, string> = {
  daily_usd_limit: 'Daily limit (USD)',
  monthly_usd_limit: 'Monthly limit (USD)',
  daily_token_limit: 'Daily limit (tokens)',
  monthly_token_limit: 'Monthly limit (tokens)',
}

export function spendLimitTexts(limits?: Partial<SpendLimits> | null): SpendLimitTexts {
  const texts = {} as SpendLimitTexts
  for (const field of SPEND_LIMIT_FIELDS) {
    const value = limits?.[field]
    texts[field] = value == null ? '' : String(value)
  }
  return texts
}

export function spendLimitValues(texts: SpendLimitTexts): Record<SpendLimitField, number | null> {
  const values = {} as Record<SpendLimitField, number | null>
  for (const field of SPEND_LIMIT_FIELDS) {
    const trimmed = texts[field].trim()
    values[field] = trimmed === '' ? null : Number(trimmed)
  }
  return values
}

/** The limits' problems, worded for a person, by field (the server's models.UsdLimit and
 * TokenLimit): USD above 0 up to a million, tokens a whole number from 1. Empty is fine. */
export function spendLimitErrors(texts: SpendLimitTexts): Partial<Record<SpendLimitField, string>> {
  const errors: Partial<Record<SpendLimitField, string>> = {}
  for (const field of SPEND_LIMIT_FIELDS) {
    const trimmed = texts[field].trim()
    if (trimmed === '') continue
    const value = Number(trimmed)
    if (field.endsWith('usd_limit')) {
      if (!(value > 0 && value <= 1_000_000)) errors[field] = 'A USD limit is an amount above 0 and up to 1,000,000.'
    } else if (!(Number.isInteger(value) && value >= 1 && value <= 1e12)) {
      errors[field] = 'A token limit is a whole number of tokens, at least 1.'
    }
  }
  return errors
}

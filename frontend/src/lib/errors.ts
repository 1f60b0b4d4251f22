import { ApiError } from '@/api/client'

/** A sentence to show for anything thrown by a request or a view. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error && error.message) return error.message
  return 'Something went wrong'
}

/**
 * A validation message to show next to the field it names: the server's
 * `"timeout_seconds: Input should be …"` without the leading `"<field>: "`.
 */
export function fieldErrorMessage(message: string, field: string): string {
  const prefix = `${field}: `
  return message.startsWith(prefix) ? message.slice(prefix.length) : message
}

/** Whether `error` says the record asked for does not exist (a 404 from the API). */
export function isNotFound(error: unknown): boolean {
  return error instanceof ApiError && error.status === 404
}

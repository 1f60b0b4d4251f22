/** The query parameter of a sign-in link, e.g. `http://127.0.0.1:20000/?token=<key>`. */
const TOKEN_PARAM = 'token'

function paramName(part: string): string {
  const [entry] = new URLSearchParams(part)
  return entry?.[0] ?? ''
}

/**
 * Takes the API key out of a sign-in link: any dashboard URL with
 * `?token=<key>`. Rewrites the address bar at once without `token` (the
 * path, the other query parameters exactly as written and the hash stay),
 * so the key does not stay in the history entry, a bookmark or a copied
 * link. Returns the key, or null when the URL has none.
 */
export function takeKeyFromUrl(location: Pick<Location, 'pathname' | 'search' | 'hash'>, history: History): string | null {
  const parts = location.search.replace(/^\?/, '').split('&').filter(Boolean)
  const tokens = parts.filter((part) => paramName(part) === TOKEN_PARAM)
  if (tokens.length === 0) return null
  const kept = parts.filter((part) => paramName(part) !== TOKEN_PARAM)
  const search = kept.length ? `?${kept.join('&')}` : ''
  history.replaceState(history.state, '', `${location.pathname}${search}${location.hash}`)
  const key = new URLSearchParams(tokens[0]).get(TOKEN_PARAM)?.trim()
  return key || null
}

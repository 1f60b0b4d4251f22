/**
 * The agent's messages rendered as Markdown (markdown-it), safely: an agent's
 * text comes from a model that read untrusted code and web pages.
 *
 * Raw HTML is off (`<script>` stays text), markdown-it refuses `javascript:`,
 * `vbscript:`, `file:` and `data:` links, images are not rendered (a remote
 * image would tell a third party the page was opened; the CSP blocks them
 * anyway), links open in a new tab without access to this one, and table
 * alignment becomes a class rather than an inline style, so the output needs
 * nothing the Content-Security-Policy does not allow.
 */
import MarkdownIt from 'markdown-it'
import type { RenderRule } from 'markdown-it/lib/renderer.mjs'

const markdown = new MarkdownIt({ html: false, linkify: true })
markdown.disable('image')

const render: RenderRule = (tokens, index, options, _env, self) => self.renderToken(tokens, index, options)

markdown.renderer.rules.link_open = (tokens, index, options, env, self) => {
  tokens[index]?.attrSet('target', '_blank')
  tokens[index]?.attrSet('rel', 'noopener noreferrer')
  return render(tokens, index, options, env, self)
}

const aligned: RenderRule = (tokens, index, options, env, self) => {
  const token = tokens[index]
  if (token) {
    const align = /text-align:(\w+)/.exec(token.attrGet('style') ?? '')
    token.attrs = (token.attrs ?? []).filter(([name]) => name !== 'style')
    if (align) token.attrJoin('class', `align-${align[1]}`)
  }
  return render(tokens, index, options, env, self)
}
markdown.renderer.rules.th_open = aligned
markdown.renderer.rules.td_open = aligned

/** `text` as HTML that is safe to put into the page. */
export function renderMarkdown(text: string): string {
  return markdown.render(text)
}

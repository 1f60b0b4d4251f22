/** Builds the app's formatters once, so their locale data is loaded off the page's thread. */
import { warmUpFormatters } from './format'

warmUpFormatters()
self.close()

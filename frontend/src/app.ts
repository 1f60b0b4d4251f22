/**
 * What start-up loads after Vue, in a task of its own (see main.ts): the app's frame, its
 * router and session, and the formatters it warms up once idle.
 */
export { default as App } from './App.vue'
export { createSession } from './composables/useSession'
export { warmUpFormatters } from './lib/format'
export { createAppRouter } from './router'

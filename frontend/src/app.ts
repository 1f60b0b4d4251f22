/**
 * What start-up loads after Vue, in a task of its own (see main.ts): the app's frame, its
 * router and session.
 */
export { default as App } from './App.vue'
export { createSession } from './composables/useSession'
export { createAppRouter } from './router'

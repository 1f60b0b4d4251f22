import { createApp } from 'vue'
import App from './App.vue'
import { createSession } from './composables/useSession'
import { takeKeyFromUrl } from './lib/signInLink'
import { createAppRouter } from './router'
import './styles/base.css'

// First of all, before the router reads the address: a sign-in link's key leaves the address bar.
const linkKey = takeKeyFromUrl(window.location, window.history)
const session = createSession()
createApp(App).use(session).use(createAppRouter()).mount('#app')
void session.start(linkKey)

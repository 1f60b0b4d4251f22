import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

export const routes: RouteRecordRaw[] = [
  { path: '/', name: 'overview', component: () => import('./views/OverviewView.vue'), meta: { title: 'Overview' } },
  { path: '/bots', name: 'bots', component: () => import('./views/BotsView.vue'), meta: { title: 'Bots' } },
  {
    path: '/bots/new',
    name: 'bot-new',
    component: () => import('./views/BotEditView.vue'),
    meta: { title: 'New bot' },
  },
  {
    path: '/bots/:id',
    name: 'bot',
    component: () => import('./views/BotDetailView.vue'),
    props: true,
    meta: { title: 'Bot' },
  },
  {
    path: '/bots/:id/edit',
    name: 'bot-edit',
    component: () => import('./views/BotEditView.vue'),
    props: true,
    meta: { title: 'Edit bot' },
  },
  {
    path: '/executions',
    name: 'executions',
    component: () => import('./views/ExecutionsView.vue'),
    meta: { title: 'Executions' },
  },
  {
    path: '/executions/:id',
    name: 'execution',
    component: () => import('./views/ExecutionView.vue'),
    props: true,
    meta: { title: 'Execution' },
  },
  {
    path: '/deliveries',
    name: 'deliveries',
    component: () => import('./views/DeliveriesView.vue'),
    meta: { title: 'Deliveries' },
  },
  {
    path: '/schedules',
    name: 'schedules',
    component: () => import('./views/SchedulesView.vue'),
    meta: { title: 'Schedules' },
  },
  {
    path: '/agents/:id?',
    name: 'agents',
    component: () => import('./views/AgentsView.vue'),
    props: true,
    meta: { title: 'Agents' },
  },
  {
    path: '/monitoring',
    name: 'monitoring',
    component: () => import('./views/MonitoringView.vue'),
    meta: { title: 'Monitoring' },
  },
  {
    path: '/accounts',
    name: 'accounts',
    component: () => import('./views/AccountsView.vue'),
    meta: { title: 'Accounts' },
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('./views/NotFoundView.vue'),
    meta: { title: 'Page not found' },
  },
]

/** The app's router; App.vue sets the document title from each route's `meta.title`. */
export function createAppRouter() {
  return createRouter({
    history: createWebHistory(import.meta.env.BASE_URL),
    routes,
    scrollBehavior: (_to, _from, saved) => saved ?? { top: 0 },
  })
}

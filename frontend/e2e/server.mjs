/**
 * Starts a real Agented backend (Hypercorn with the repository's hypercorn.toml)
 * for browser tests: a fresh database, secret key and API key file and no .env
 * in a temporary directory, the fake AI CLIs from backend/tests/fakes first on
 * PATH and the built dashboard from frontend/dist. By default it requires an
 * API key, which it generates and announces as on a fresh install: the tests
 * take the key from the sign-in link it prints.
 *
 *   const server = await startServer()          // or { auth: false }: no keys at all
 *   ... server.url, server.apiKey, server.signInUrl,
 *       server.api('POST', '/admin/triggers', body) ...
 *   await server.stop()
 *
 * The server runs in its own process group; stop() sends SIGTERM to the group
 * and SIGKILL if it has not exited within a few seconds. A process exit hook
 * kills any server still running, so nothing outlives the test file.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const FRONTEND_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..')
export const REPO_DIR = resolve(FRONTEND_DIR, '..')
export const DIST_DIR = join(FRONTEND_DIR, 'dist')

const BACKEND_DIR = join(REPO_DIR, 'backend')
const VENV_BIN = join(BACKEND_DIR, '.venv', 'bin')
const FAKES_DIR = join(BACKEND_DIR, 'tests', 'fakes')

const STARTUP_TIMEOUT_MS = 30_000
const STOP_GRACE_MS = 5_000
const API_TIMEOUT_MS = 10_000

/** Every server started by this process, killed (and its data removed) at exit whatever happened. */
const running = new Set()
const dataDirs = new Set()
function killAll() {
  for (const child of running) killGroup(child, 'SIGKILL')
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true })
}
process.on('exit', killAll)
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    killAll()
    process.exit(code)
  })
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal)
  } catch {
    // already gone
  }
}

/** A port that was free a moment ago. */
function freePort() {
  return new Promise((resolvePort, reject) => {
    const probe = createServer()
    probe.unref()
    probe.on('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address()
      probe.close(() => resolvePort(port))
    })
  })
}

function checkPrerequisites() {
  const missing = []
  if (!existsSync(join(DIST_DIR, 'index.html'))) {
    missing.push(`${join(DIST_DIR, 'index.html')} is missing: run \`npm run build\` in frontend/ first`)
  }
  if (!existsSync(join(VENV_BIN, 'hypercorn'))) {
    missing.push(`${join(VENV_BIN, 'hypercorn')} is missing: create the backend venv (scripts/test or uv sync in backend/)`)
  }
  if (!existsSync(join(FAKES_DIR, 'codex'))) {
    missing.push(`${FAKES_DIR} has no fake CLIs`)
  }
  if (missing.length) throw new Error(`cannot start the Agented backend:\n  ${missing.join('\n  ')}`)
}

function serverEnv(dataDir, auth) {
  const env = {
    PATH: `${FAKES_DIR}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    FAKE_CLI_PYTHON: join(VENV_BIN, 'python'),
    PYTHONPATH: BACKEND_DIR,
    PYTHONUNBUFFERED: '1',
    AGENTED_DB_PATH: join(dataDir, 'agented.db'),
    AGENTED_SECRET_KEY_FILE: join(dataDir, '.secret_key'),
    AGENTED_ENV_FILE: join(dataDir, 'no.env'),
    AGENTED_API_KEY_FILE: join(dataDir, '.api_key'),
    AGENTED_DASHBOARD_DIR: DIST_DIR,
    // With auth, AGENTED_API_KEY stays unset: the server generates the key into
    // the file above and prints the sign-in link. Without, no keys at all
    // (refused unless the server listens on loopback only, as here).
    AGENTED_AUTH: auth ? 'enabled' : 'disabled',
    // No admin rate limit, which a test's polling would run into.
    AGENTED_RATE_LIMIT_ADMIN: '1000000/60',
    HOME: dataDir,
    TMPDIR: dataDir,
  }
  for (const name of ['LANG', 'LC_ALL', 'TZ']) {
    if (process.env[name]) env[name] = process.env[name]
  }
  return env
}

class Server {
  constructor(child, port, dataDir) {
    this.child = child
    /** The API key (null without auth) and the sign-in link the server printed with it. */
    this.apiKey = null
    this.signInUrl = null
    this.port = port
    this.url = `http://127.0.0.1:${port}`
    this.dataDir = dataDir
    this.lines = []
    this.waiters = []
    this.exited = new Promise((resolveExit) => {
      child.once('exit', (code, signal) => {
        running.delete(child)
        this.exitStatus = signal ?? code
        resolveExit()
      })
    })
    const partial = { stdout: '', stderr: '' }
    for (const name of ['stdout', 'stderr']) {
      child[name].setEncoding('utf8')
      child[name].on('data', (chunk) => {
        const parts = (partial[name] + chunk).split('\n')
        partial[name] = parts.pop()
        for (const line of parts) this.#addLine(line)
      })
      child[name].on('end', () => {
        if (partial[name]) this.#addLine(partial[name])
        partial[name] = ''
      })
    }
  }

  #addLine(line) {
    this.lines.push(line)
    for (const waiter of [...this.waiters]) waiter()
  }

  /** Everything the server printed so far (stdout and stderr, interleaved). */
  get output() {
    return this.lines.join('\n')
  }

  /** Resolves when a line matches `pattern`; rejects with the output if the server exits or time runs out. */
  waitForOutput(pattern, timeoutMs = STARTUP_TIMEOUT_MS) {
    return new Promise((resolveWait, reject) => {
      let timer = null
      const finish = (error, match) => {
        clearTimeout(timer)
        this.waiters = this.waiters.filter((waiter) => waiter !== check)
        if (error) reject(error)
        else resolveWait(match)
      }
      const check = () => {
        for (const line of this.lines) {
          const match = line.match(pattern)
          if (match) return finish(null, match)
        }
        return undefined
      }
      timer = setTimeout(
        () => finish(new Error(`no server output matched ${pattern} within ${timeoutMs} ms; output:\n${this.output}`)),
        timeoutMs,
      )
      this.waiters.push(check)
      void this.exited.then(() =>
        setImmediate(() => finish(new Error(`the server exited (${this.exitStatus}) before printing ${pattern}; output:\n${this.output}`))),
      )
      check()
    })
  }

  /** A JSON API call from the test itself (not the browser); throws on a non-2xx answer. */
  async api(method, path, body) {
    const headers = {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
      ...(this.apiKey ? { 'X-API-Key': this.apiKey } : {}),
    }
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(API_TIMEOUT_MS),
    })
    const text = await response.text()
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`)
    try {
      return text ? JSON.parse(text) : null
    } catch {
      throw new Error(`${method} ${path} answered ${response.status} with something that is not JSON: ${text.slice(0, 200)}`)
    }
  }

  /** Stops the server: SIGTERM to its process group, SIGKILL after a grace period. */
  async stop() {
    if (this.exitStatus === undefined) {
      killGroup(this.child, 'SIGTERM')
      let timer = null
      const graceful = await Promise.race([
        this.exited.then(() => true),
        new Promise((resolveTimer) => {
          timer = setTimeout(resolveTimer, STOP_GRACE_MS, false)
        }),
      ])
      clearTimeout(timer)
      if (!graceful) killGroup(this.child, 'SIGKILL')
      await this.exited
    }
    killGroup(this.child, 'SIGKILL') // anything left in the group
    rmSync(this.dataDir, { recursive: true, force: true })
    dataDirs.delete(this.dataDir)
  }
}

async function startOnce(auth) {
  const port = await freePort()
  const dataDir = mkdtempSync(join(tmpdir(), 'agented-e2e-'))
  dataDirs.add(dataDir)
  const argv = ['-c', join(REPO_DIR, 'hypercorn.toml'), '-b', `127.0.0.1:${port}`, 'agented.asgi:app']
  const child = spawn(join(VENV_BIN, 'hypercorn'), argv, {
    cwd: REPO_DIR,
    env: serverEnv(dataDir, auth),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  running.add(child)
  const server = new Server(child, port, dataDir)
  try {
    await server.waitForOutput(new RegExp(`Running on http://127\\.0\\.0\\.1:${port}\\b`))
    if (auth) {
      const [signInUrl, key] = await server.waitForOutput(new RegExp(`http://127\\.0\\.0\\.1:${port}/\\?token=(\\S+)`))
      server.signInUrl = signInUrl
      server.apiKey = key
    }
  } catch (error) {
    await server.stop()
    error.serverOutput = server.output
    throw error
  }
  return server
}

/**
 * Starts a backend on a free port and waits until it serves. By default it
 * requires the API key it generated, `server.apiKey` (which `server.api()`
 * sends), and `server.signInUrl` is the sign-in link it printed; with
 * `{ auth: false }` it runs without authentication (AGENTED_AUTH=disabled,
 * loopback only).
 */
export async function startServer({ auth = true } = {}) {
  checkPrerequisites()
  try {
    return await startOnce(auth)
  } catch (error) {
    // The port was free when chosen but another process may have taken it since.
    if (!/address already in use/i.test(error.serverOutput ?? '')) throw error
    return await startOnce(auth)
  }
}

// Shared machinery of the browser tests: a real parley server on a free
// loopback port with a temporary data directory, and Debian's Chromium driven
// by playwright-core, one fresh profile per simulated person.
//
// Environment (set by CMake, defaults work from a source tree after `make build`
// and `make wasm`):
//   PARLEY_BIN          the server binary            (build/server/parley)
//   PARLEY_WEB_DIR      the client's static files    (web/)
//   PARLEY_WASM_DIR     the WebAssembly build        (build/wasm/)
//   E2E_SCREENSHOTS     where screenshots are saved  (build/e2e-screenshots/)
//   CHROMIUM            the browser                  (/usr/bin/chromium)
//   E2E_KEEP            keep temporary directories and print their paths

import { spawn, execFileSync } from 'node:child_process';
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');

export const config = {
  bin: process.env.PARLEY_BIN ?? path.join(repoRoot, 'build/server/parley'),
  webDir: process.env.PARLEY_WEB_DIR ?? path.join(repoRoot, 'web'),
  wasmDir: process.env.PARLEY_WASM_DIR ?? path.join(repoRoot, 'build/wasm'),
  screenshots: process.env.E2E_SCREENSHOTS ?? path.join(repoRoot, 'build/e2e-screenshots'),
  chromium: process.env.CHROMIUM ?? '/usr/bin/chromium',
  keep: Boolean(process.env.E2E_KEEP),
};

export const PASSWORD = 'correct horse battery';

const tempDirs = [];

export function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `parley-e2e-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

export function cleanupTemp() {
  for (const dir of tempDirs.splice(0)) {
    if (config.keep) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---- the server --------------------------------------------------------------

/**
 * A parley process. start() picks a free port the first time (--listen
 * 127.0.0.1:0) and reuses it on restart, with the same data directory, as an
 * operator restarting a crashed server would.
 */
export class Server {
  constructor(extraArgs = []) {
    this.dataDir = tempDir('data');
    this.extraArgs = extraArgs;
    this.port = 0;
    this.proc = null;
    this.log = [];
  }

  /** https:// when the server was given a certificate (--tls-cert). */
  get url() {
    return `${this.extraArgs.includes('--tls-cert') ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  get dbPath() {
    return path.join(this.dataDir, 'parley.db');
  }

  async start() {
    for (const [what, p] of [['server binary', config.bin], ['wasm build', path.join(config.wasmDir, 'parley.js')]]) {
      if (!fs.existsSync(p)) throw new Error(`the ${what} is missing at ${p}: run \`make build\` and \`make wasm\` first`);
    }
    const args = [
      '--listen', `127.0.0.1:${this.port}`, '--data-dir', this.dataDir, '--password-cost', 'min',
      '--static-dir', config.webDir, '--wasm-dir', config.wasmDir, '--threads', '2',
      '--auth-rate', '100/100', ...this.extraArgs,
    ];
    const proc = spawn(config.bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc = proc;
    this.port = await new Promise((resolve, reject) => {
      let buffer = '';
      const timer = setTimeout(() => reject(new Error(`parley did not start:\n${this.log.join('')}`)), 15000);
      proc.stderr.setEncoding('utf8');
      proc.stderr.on('data', (chunk) => {
        this.log.push(chunk);
        if (this.log.length > 400) this.log.splice(0, 200);
        buffer += chunk;
        // "listening on http(s)://HOST:PORT", or its structured form "listening ... port=PORT".
        const m = buffer.match(/listening on https?:\/\/[^:\s]+:(\d+)|\blistening\b[^\n]*\bport=(\d+)/);
        if (m) {
          clearTimeout(timer);
          buffer = '';
          resolve(Number(m[1] ?? m[2]));
        }
      });
      proc.on('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`parley exited (${code ?? signal}) before listening:\n${this.log.join('')}`));
      });
    });
    return this;
  }

  /** Sends `signal` and waits for the process to end. */
  async stop(signal = 'SIGTERM') {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    this.proc = null;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  }

  /** Runs SQL against the server's database (read-only) and returns the rows as text. */
  query(sql) {
    return execFileSync('sqlite3', ['-readonly', '-batch', '-noheader', this.dbPath, sql], { encoding: 'utf8' }).trim();
  }
}

// ---- the browser ---------------------------------------------------------------

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic',
  // Background tabs keep their timers: two "people" share this machine.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

/**
 * One person at their own computer: a Chromium with a fresh profile
 * (its own cookies, IndexedDB and localStorage).
 */
export class Person {
  /**
   * trustSpki: base64 SHA-256 hashes of public keys whose certificates this
   * browser (and no other) trusts, e.g. a test's self-signed one.
   */
  constructor(name, { viewport = { width: 1280, height: 800 }, colorScheme = 'light', trustSpki = [] } = {}) {
    this.name = name;
    this.viewport = viewport;
    this.colorScheme = colorScheme;
    this.trustSpki = trustSpki;
    this.context = null;
    this.page = null;
    this.errors = [];
  }

  async launch() {
    this.context = await chromium.launchPersistentContext(tempDir(`profile-${this.name}`), {
      executablePath: config.chromium,
      headless: true,
      args: this.trustSpki.length
        ? [...CHROMIUM_ARGS, `--ignore-certificate-errors-spki-list=${this.trustSpki.join(',')}`]
        : CHROMIUM_ARGS,
      viewport: this.viewport,
      colorScheme: this.colorScheme,
      reducedMotion: 'reduce',
      locale: 'en-GB',
      timezoneId: 'UTC',
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.watch(this.page);
    return this;
  }

  /** Records uncaught errors of a page, which fail the test at the end. */
  watch(page) {
    page.on('pageerror', (e) => this.errors.push(`${this.name}: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/WebSocket|Failed to load resource|ERR_CONNECTION/.test(m.text())) {
        this.errors.push(`${this.name} console: ${m.text()}`);
      }
    });
  }

  async newPage() {
    const page = await this.context.newPage();
    this.watch(page);
    return page;
  }

  async close() {
    await this.context?.close();
    this.context = null;
  }
}

export async function screenshot(page, name) {
  fs.mkdirSync(config.screenshots, { recursive: true });
  const file = path.join(config.screenshots, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

/**
 * The frame of a browser test file: one server for the file (started before
 * its tests, stopped after them) and the people its tests launch. After the
 * tests every browser closes, and none may have had a page error.
 * @return {{server: Server, people: Person[], person: (name: string, options?: object) => Promise<Person>}}
 */
export function browserSuite(serverArgs = []) {
  const server = new Server(serverArgs);
  const people = [];
  before(async () => {
    await server.start();
  });
  after(async () => {
    for (const p of people) await p.close();
    await server.stop();
    cleanupTemp();
    for (const p of people) assert.deepEqual(p.errors, [], `page errors of ${p.name}`);
  });
  async function person(name, options) {
    const p = await new Person(name, options).launch();
    people.push(p);
    return p;
  }
  return { server, people, person };
}

import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

/** Configuration errors name the variable and the problem, in-process and through the binary. */

const root = fileURLToPath(new URL('../..', import.meta.url));

function serve(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'gh-config-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(root, 'bin', 'gatehouse.js'), 'serve'],
      { cwd: dir, timeout: 20_000, env: { PATH: process.env.PATH ?? '', HOME: dir, GATEHOUSE_HOME: join(dir, 'home'), LOG_LEVEL: 'silent', ...env } },
      (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }),
    );
  });
}

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig({ GATEHOUSE_HOME: mkdtempSync(join(tmpdir(), 'gh-config-')), ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('configuration errors', () => {
  it('NODE_ENV=production without GATEHOUSE_MASTER_KEY refuses to start, naming the variable (real binary)', async () => {
    const r = await serve({ NODE_ENV: 'production', GATEHOUSE_ADMIN_TOKEN: 'a'.repeat(32), REDIS_URL: 'redis://127.0.0.1:1' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('GATEHOUSE_MASTER_KEY: required when NODE_ENV=production');
    expect(r.stderr).toContain('openssl rand -base64 32');
  });

  it('reports every bad variable at once, each by name (real binary)', async () => {
    const r = await serve({ PORT: 'eighty', UPSTREAM_ALLOW_HTTP: 'maybe', GATEHOUSE_EMBEDDED_PROBE: 'nowhere' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PORT: "eighty" is not a whole number/);
    expect(r.stderr).toMatch(/UPSTREAM_ALLOW_HTTP: "maybe" is not a boolean/);
    expect(r.stderr).toMatch(/GATEHOUSE_EMBEDDED_PROBE: "nowhere" is not host:port/);
  });

  it.each([
    [{ GATEHOUSE_MASTER_KEY: 'c2hvcnQ=' }, /^GATEHOUSE_MASTER_KEY: must be base64 of exactly 32 bytes/],
    [{ GATEHOUSE_ADMIN_TOKEN: 'short' }, /^GATEHOUSE_ADMIN_TOKEN: must be at least 16 characters/],
    [{ REDIS_URL: 'http://127.0.0.1:6379' }, /^REDIS_URL: /],
    [{ UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8,300.1.1.1/8' }, /^UPSTREAM_ALLOW_CIDRS: "300\.1\.1\.1\/8" is not a CIDR/],
    [{ UPSTREAM_TIMEOUT_MS: '0' }, /^UPSTREAM_TIMEOUT_MS: 0 is out of range/],
    [{ LOG_LEVEL: 'loud' }, /^LOG_LEVEL: "loud" is not one of/],
    [{ GATEHOUSE_EMBEDDED_PROBE: '127.0.0.1:0' }, /^GATEHOUSE_EMBEDDED_PROBE: /],
    [{ PUBLIC_URL: 'gatehouse.example.com' }, /^PUBLIC_URL: "gatehouse.example.com" is not a URL/],
    [{ PUBLIC_URL: 'ftp://gatehouse.example.com' }, /^PUBLIC_URL: scheme "ftp:" is not supported/],
    [{ PUBLIC_URL: 'https://gatehouse.example.com/?x=1' }, /^PUBLIC_URL: must be a plain base address/],
  ])('%j is rejected by name', (env, message) => {
    const found = problems(env);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('parses GATEHOUSE_EMBEDDED_PROBE (default 127.0.0.1:6379)', () => {
    const home = mkdtempSync(join(tmpdir(), 'gh-config-'));
    expect(loadConfig({ GATEHOUSE_HOME: home }).embeddedProbe).toEqual({ host: '127.0.0.1', port: 6379 });
    expect(loadConfig({ GATEHOUSE_HOME: home, GATEHOUSE_EMBEDDED_PROBE: '127.0.0.1:16379' }).embeddedProbe).toEqual({ host: '127.0.0.1', port: 16379 });
    expect(loadConfig({ GATEHOUSE_HOME: home, GATEHOUSE_EMBEDDED_PROBE: '[::1]:6380' }).embeddedProbe).toEqual({ host: '::1', port: 6380 });
  });

  it('PUBLIC_URL: optional absolute base, trailing slash dropped, a path prefix kept', () => {
    const home = mkdtempSync(join(tmpdir(), 'gh-config-'));
    expect(loadConfig({ GATEHOUSE_HOME: home }).publicUrl).toBeUndefined();
    expect(loadConfig({ GATEHOUSE_HOME: home, PUBLIC_URL: 'https://gatehouse.example.com/' }).publicUrl).toBe('https://gatehouse.example.com');
    expect(loadConfig({ GATEHOUSE_HOME: home, PUBLIC_URL: 'http://127.0.0.1:8080/gh/' }).publicUrl).toBe('http://127.0.0.1:8080/gh');
  });
});

describe('tracing settings (standard OTEL_* variables)', () => {
  const base = () => ({ GATEHOUSE_HOME: mkdtempSync(join(tmpdir(), 'gh-config-')) });

  it('tracing is off unless an OTLP endpoint or OTEL_TRACES_EXPORTER turns it on; none and OTEL_SDK_DISABLED turn it off', () => {
    expect(loadConfig(base()).tracing).toBeUndefined();
    expect(loadConfig({ ...base(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing).toMatchObject({ exporter: { kind: 'otlp', url: 'http://collector:4318/v1/traces' }, sampleRatio: 1, parentBased: true, serviceName: 'gatehouse' });
    expect(loadConfig({ ...base(), OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector/custom' }).tracing?.exporter).toEqual({ kind: 'otlp', url: 'https://collector/custom' });
    expect(loadConfig({ ...base(), OTEL_TRACES_EXPORTER: 'otlp' }).tracing?.exporter).toEqual({ kind: 'otlp', url: 'http://localhost:4318/v1/traces' });
    expect(loadConfig({ ...base(), OTEL_TRACES_EXPORTER: 'console' }).tracing?.exporter).toEqual({ kind: 'console' });
    expect(loadConfig({ ...base(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
    expect(loadConfig({ ...base(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it('sampling, queue and timeout settings are read; bad values name the variable', () => {
    const t = loadConfig({ ...base(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.1', OTEL_BSP_MAX_QUEUE_SIZE: '100', OTEL_BSP_SCHEDULE_DELAY: '250', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64', OTEL_EXPORTER_OTLP_TIMEOUT: '3000', OTEL_SERVICE_NAME: 'edge' }).tracing;
    expect(t).toMatchObject({ sampleRatio: 0.1, parentBased: true, maxQueueSize: 100, maxExportBatchSize: 64, scheduleDelayMs: 250, exportTimeoutMs: 3000, serviceName: 'edge' });
    expect(loadConfig({ ...base(), OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' }).tracing).toMatchObject({ sampleRatio: 0.5, parentBased: false });
    const found = problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'sometimes', OTEL_TRACES_SAMPLER_ARG: '2', OTEL_BSP_MAX_QUEUE_SIZE: 'many' });
    expect(found.some((p) => p.startsWith('OTEL_TRACES_SAMPLER: "sometimes"'))).toBe(true);
    expect(found.some((p) => p.startsWith('OTEL_BSP_MAX_QUEUE_SIZE:'))).toBe(true);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }).some((p) => p.startsWith('OTEL_TRACES_SAMPLER_ARG: "2" is not a ratio'))).toBe(true);
    expect(problems({ OTEL_TRACES_EXPORTER: 'zipkin' }).some((p) => p.startsWith('OTEL_TRACES_EXPORTER: "zipkin" is not supported'))).toBe(true);
    expect(problems({ OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://c' }).some((p) => p.startsWith('OTEL_EXPORTER_OTLP_ENDPOINT'))).toBe(true);
  });
});

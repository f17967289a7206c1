import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, type TestService } from '../support/service.js';
import { compileAllSchemas } from '../../src/http/schema-compilers.js';
import { adminClient } from './support.js';

describe('GET /admin/v1/openapi.json', () => {
  let svc: TestService;
  let doc: any;
  beforeAll(async () => {
    await flushTestRedis();
    svc = await startTestService();
    const res = await adminClient(svc.url)('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    doc = res.body;
  });
  afterAll(async () => svc.close());

  it('is an OpenAPI 3.1 document with bearer security and the shared error schema', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.info.title).toBe('Gatehouse admin API');
    expect(doc.components.securitySchemes.operatorToken).toEqual({ type: 'http', scheme: 'bearer', description: 'GATEHOUSE_ADMIN_TOKEN' });
    expect(doc.security).toEqual([{ operatorToken: [] }]);
    expect(doc.components.schemas.AdminError.properties.error.required).toEqual(['code', 'message']);
    expect(Object.keys(doc.paths)).not.toContain('/admin/v1/openapi.json');
  });

  const routes: [string, string, { body: boolean; codes: string[] }][] = [
    ['put', '/admin/v1/tenants/{tenant}', { body: true, codes: ['200', '201', '4XX'] }],
    ['get', '/admin/v1/tenants', { body: false, codes: ['200'] }],
    ['get', '/admin/v1/tenants/{tenant}', { body: false, codes: ['200', '4XX'] }],
    ['put', '/admin/v1/tenants/{tenant}/secrets/{name}', { body: true, codes: ['200', '201', '4XX'] }],
    ['get', '/admin/v1/tenants/{tenant}/secrets', { body: false, codes: ['200'] }],
    ['delete', '/admin/v1/tenants/{tenant}/secrets/{name}', { body: false, codes: ['204', '4XX'] }],
    ['put', '/admin/v1/tenants/{tenant}/variables/{name}', { body: true, codes: ['200', '201', '4XX'] }],
    ['get', '/admin/v1/tenants/{tenant}/variables', { body: false, codes: ['200'] }],
    ['delete', '/admin/v1/tenants/{tenant}/variables/{name}', { body: false, codes: ['204'] }],
    ['get', '/admin/v1/tenants/{tenant}/connectors', { body: false, codes: ['200'] }],
    ['post', '/admin/v1/tenants/{tenant}/connectors', { body: true, codes: ['201', '4XX'] }],
    ['get', '/admin/v1/tenants/{tenant}/connectors/{permalink}', { body: false, codes: ['200'] }],
    ['put', '/admin/v1/tenants/{tenant}/connectors/{permalink}', { body: true, codes: ['200', '201'] }],
    ['delete', '/admin/v1/tenants/{tenant}/connectors/{permalink}', { body: false, codes: ['204'] }],
    ['post', '/admin/v1/tenants/{tenant}/repositories/{owner}/{repo}/rollback', { body: true, codes: ['202', '4XX'] }],
    ['post', '/admin/v1/tenants/{tenant}/repositories/{owner}/{repo}/unpin', { body: false, codes: ['202', '4XX'] }],
    ['post', '/admin/v1/tenants/{tenant}/git/{name}/rollback', { body: true, codes: ['202', '4XX'] }],
    ['post', '/admin/v1/tenants/{tenant}/git/{name}/unpin', { body: false, codes: ['202', '4XX'] }],
  ];

  it.each(routes)('describes %s %s with request and response schemas', (method, path, expected) => {
    const op = doc.paths[path]?.[method];
    expect(op, `${method} ${path}`).toBeDefined();
    expect(op.summary).toEqual(expect.any(String));
    for (const param of path.match(/\{(\w+)\}/g) ?? []) {
      expect(op.parameters.some((p: { name: string; in: string }) => p.in === 'path' && `{${p.name}}` === param)).toBe(true);
    }
    if (expected.body) expect(op.requestBody.content['application/json'].schema.type).toBe('object');
    for (const code of expected.codes) expect(op.responses[code], `${method} ${path} ${code}`).toBeDefined();
    expect(op.responses['4XX'].content['application/json'].schema.$ref).toBe('#/components/schemas/AdminError');
  });

  it('documents the Code Mode body and the secret listing shape', () => {
    const post = doc.paths['/admin/v1/tenants/{tenant}/connectors'].post;
    expect(post.requestBody.content['application/json'].schema.required).toEqual(['name', 'url']);
    const list = doc.paths['/admin/v1/tenants/{tenant}/secrets'].get.responses['200'].content['application/json'].schema;
    expect(list.properties.items.items.required).toEqual(['name', 'kind', 'masked', 'updated_at']);
  });

  // Route schemas compile on a route's first request (start-up time); this is the start-up check
  // that laziness would otherwise lose: every admin schema compiles, and a bad one fails here.
  it('compiles every route schema (validators and serializers) that start-up left for first use', () => {
    const compiledNow = compileAllSchemas();
    expect(compiledNow).toBeGreaterThanOrEqual(80);
    expect(compileAllSchemas()).toBe(0);
  });

  it('documents the rollback body (a commit SHA), the pin of a link and the rollback/unpin triggers and skipped state', () => {
    const rollback = doc.paths['/admin/v1/tenants/{tenant}/repositories/{owner}/{repo}/rollback'].post;
    const body = rollback.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['sha']);
    expect(body.properties.sha.pattern).toBe('^[0-9a-fA-F]{7,40}$');
    expect(rollback.responses['202'].content['application/json'].schema.required).toEqual(['sync_id', 'sha', 'restores_sync', 'plan']);
    const links = doc.paths['/admin/v1/tenants/{tenant}/repositories'].get.responses['200'].content['application/json'].schema;
    expect(links.properties.items.items.required).toContain('pin');
    const gitLinks = doc.paths['/admin/v1/tenants/{tenant}/git'].get.responses['200'].content['application/json'].schema;
    expect(gitLinks.properties.items.items.required).toContain('pin');
    const gitRollback = doc.paths['/admin/v1/tenants/{tenant}/git/{name}/rollback'].post;
    expect(gitRollback.requestBody.content['application/json'].schema).toEqual(body);
    expect(gitRollback.responses['202'].content['application/json'].schema.required).toEqual(['sync_id', 'sha', 'restores_sync', 'plan']);
    const record = doc.paths['/admin/v1/syncs/{id}'].get.responses['200'].content['application/json'].schema;
    expect(record.properties.trigger.enum).toEqual(expect.arrayContaining(['rollback', 'unpin']));
    expect(record.properties.state.enum).toContain('skipped');
    expect(record.properties.pinned_to.type).toBe('string');
  });
});

/**
 * Parent → child with dlt's semantics, config side: several resolve params naming one parent, `include_from_parent`
 * (dlt's `_<parent>_<field>` names), `childFields`, our `side_effects` (repeatable = !side_effects) and `poll`, and
 * the rule that their problems are found when a file is loaded, each with its path.
 */
import { describe, expect, it } from 'vitest';
import { validateSourceConfig } from '../../../src/config/analyse.ts';
import { parentFieldName } from '../../../src/config/analyse-resource.ts';
import { resolveSource } from '../../../src/config/resolve.ts';
import type { ResolvedResource, ResolvedSource } from '../../../src/shared/plan.ts';
import { problemsOf, sourceWith } from './helpers.ts';

const single = { paginator: 'single_page' } as const;
const merged = { primary_key: 'id', write_disposition: 'merge' } as const;

function resource(plan: ResolvedSource, name: string): ResolvedResource {
  const found = plan.resources.find((planned) => planned.name === name);
  if (found === undefined) throw new Error(`no resource ${name} in the plan`);
  return found;
}

const repos = { name: 'repos', endpoint: { path: '/repos', ...single } };

describe('several resolve params', () => {
  it('may all name the same parent: the fields are listed in the order written, each once', () => {
    const source = sourceWith([
      repos,
      {
        name: 'commits',
        endpoint: {
          path: '/repos/{owner}/{repo}/commits/{{ stream_slice.again }}',
          params: {
            repo: { type: 'resolve', resource: 'repos', field: 'name' },
            owner: { type: 'resolve', resource: 'repos', field: 'owner.login' },
            again: { type: 'resolve', resource: 'repos', field: 'name' },
          },
          ...single,
        },
      },
    ]);
    const commits = resource(resolveSource(source, { env: {} }), 'commits');
    expect(commits.dependency).toMatchObject({ parent: 'repos', fields: ['name', 'owner.login'] });
    expect(commits.endpoint?.path).toEqual([
      '/repos/',
      { parentField: 'owner.login' },
      '/',
      { parentField: 'name' },
      '/commits/',
      { parentField: 'name' },
    ]);
    expect(commits.endpoint?.params).toEqual({});
  });

  it('naming different parents is an error at the param that names the other one', () => {
    const source = sourceWith([
      repos,
      { name: 'users', endpoint: { path: '/users', ...single } },
      {
        name: 'mixed',
        endpoint: {
          path: '/x/{repo}/{user}',
          params: {
            repo: { type: 'resolve', resource: 'repos', field: 'name' },
            user: { type: 'resolve', resource: 'users', field: 'login' },
          },
          ...single,
        },
      },
    ]);
    expect(problemsOf(() => validateSourceConfig(source))).toEqual([
      'resources[2].endpoint.params.user: the resolve param "user" names the parent "users", but the resolve param "repo" (resources[2].endpoint.params.repo) names "repos": a resource has one parent, so every resolve param of "mixed" (and every {resources.<parent>.<field>}) must name the same one',
    ]);
  });
});

describe('include_from_parent', () => {
  const child = (extra: Record<string, unknown>) => ({
    name: 'issues',
    endpoint: {
      path: '/repos/{{ stream_slice.repo }}/issues',
      params: { repo: { type: 'resolve', resource: 'repos', field: 'name' } },
      ...single,
    },
    ...extra,
  });

  it("copies parent fields under dlt's names: _<parent>_<field>, the dots of a path made __", () => {
    expect(parentFieldName('issues', 'id')).toBe('_issues_id');
    const plan = resolveSource(sourceWith([repos, child({ include_from_parent: ['id', 'owner.login'] })]), {
      env: {},
    });
    expect(resource(plan, 'issues').dependency?.includeFromParent).toEqual([
      { field: 'id', as: '_repos_id' },
      { field: 'owner.login', as: '_repos_owner__login' },
    ]);
    expect(resource(plan, 'repos').dependency).toBeNull();
  });

  it('is an error on a resource without a parent, also when inherited from resource_defaults', () => {
    expect(
      problemsOf(() => validateSourceConfig(sourceWith([{ ...repos, include_from_parent: ['id'] }]))),
    ).toEqual([
      'resources[0].include_from_parent: "repos" has no parent: include_from_parent copies fields of the parent record a child\'s request is made for (add a resolve param, or remove it)',
    ]);
    const inherited = sourceWith([repos, child({})], { resource_defaults: { include_from_parent: ['id'] } });
    expect(problemsOf(() => validateSourceConfig(inherited))).toEqual([
      'resource_defaults.include_from_parent: "repos" has no parent: include_from_parent copies fields of the parent record a child\'s request is made for (add a resolve param, or remove it from resource_defaults)',
    ]);
  });

  it('refuses a field listed twice, two fields stored under one name, and a malformed path', () => {
    expect(
      problemsOf(() =>
        validateSourceConfig(sourceWith([repos, child({ include_from_parent: ['id', 'id', 'a..b', ''] })])),
      ),
    ).toEqual([
      'resources[1].include_from_parent[2]: expected a field name or a dotted path (`user.id`) without empty parts',
      'resources[1].include_from_parent[3]: expected a field name or a dotted path (`user.id`) without empty parts',
      'resources[1].include_from_parent[1]: listed twice',
    ]);
    expect(
      problemsOf(() =>
        validateSourceConfig(sourceWith([repos, child({ include_from_parent: ['a.b', 'a__b'] })])),
      ),
    ).toEqual(['resources[1].include_from_parent[1]: "a__b" and "a.b" would both be stored as _repos_a__b']);
  });
});

describe('childFields', () => {
  const source = sourceWith([
    repos,
    {
      name: 'issues',
      include_from_parent: ['owner.login', 'id'],
      endpoint: { path: '/i/{resources.repos.name}', ...single },
    },
    { name: 'pulls', endpoint: { path: '/p/{resources.repos.id}/{resources.repos.name}', ...single } },
    { name: 'comments', endpoint: { path: '/c/{resources.issues.number}', ...single } },
  ]);

  it("is the sorted union of the fields the parent's children in the plan need", () => {
    const plan = resolveSource(source, { env: {} });
    expect(plan.resources.map((planned) => [planned.name, planned.childFields])).toEqual([
      ['repos', ['id', 'name', 'owner.login']],
      ['issues', ['number']],
      ['pulls', []],
      ['comments', []],
    ]);
  });

  it('counts only the children in this plan', () => {
    const plan = resolveSource(source, { env: {}, only: ['pulls'] });
    expect(plan.resources.map((planned) => [planned.name, planned.childFields])).toEqual([
      ['repos', ['id', 'name']],
      ['pulls', []],
    ]);
  });
});

describe('side_effects', () => {
  const sends = (endpoint: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    name: 'send',
    side_effects: true,
    endpoint: { path: '/send', method: 'POST', json: { to: 'x' }, ...endpoint },
    ...extra,
  });

  it('makes a request not repeatable; every other one is, whatever its method, body or paginator', () => {
    const plan = resolveSource(
      sourceWith([
        sends(single),
        { name: 'search', endpoint: { path: '/s', method: 'POST', json: { q: 1 }, paginator: 'json_link' } },
        { name: 'config', endpoint: { path: "/c/{{ config['x'] or 'y' }}", ...single } },
      ]),
      { env: {} },
    );
    expect(plan.resources.map((planned) => [planned.name, planned.repeatable])).toEqual([
      ['send', false],
      ['search', true],
      ['config', true],
    ]);
  });

  it('refuses any paginator but single_page, wherever it comes from, at its path', () => {
    const at = (source: unknown) => problemsOf(() => validateSourceConfig(source));
    expect(at(sourceWith([sends({ paginator: { type: 'json_link' } })]))).toEqual([
      'resources[0].endpoint.paginator: "send" has side effects: its request is sent once and never paginates, but its paginator is json_link; set endpoint.paginator: single_page on "send"',
    ]);
    expect(at(sourceWith([sends({})]))).toEqual([
      'resources[0].endpoint.paginator: "send" has side effects: its request is sent once and never paginates, but it has no paginator, so one would be detected from the response (auto); set endpoint.paginator: single_page on "send"',
    ]);
    expect(
      at(sourceWith([sends({})], { client: { base_url: 'https://api.test', paginator: 'header_link' } })),
    ).toEqual([
      'client.paginator: "send" has side effects: its request is sent once and never paginates, but it inherits the header_link paginator of client.paginator; set endpoint.paginator: single_page on "send"',
    ]);
    expect(
      at(sourceWith([sends({})], { resource_defaults: { endpoint: { paginator: { type: 'auto' } } } })),
    ).toEqual([
      'resource_defaults.endpoint.paginator: "send" has side effects: its request is sent once and never paginates, but its paginator is auto; set endpoint.paginator: single_page on "send"',
    ]);
    // A single-entity path needs no paginator: it is single_page.
    expect(
      validateSourceConfig(sourceWith([sends({ path: "/send/{{ config['id'] }}" })])).config,
    ).toBeDefined();
  });

  it('refuses a parent (it is sent once per load) and resource_defaults', () => {
    expect(
      problemsOf(() =>
        validateSourceConfig(sourceWith([repos, sends({ path: '/send/{resources.repos.id}/x', ...single })])),
      ),
    ).toEqual([
      'resources[1].side_effects: "send" has side effects, so it is sent once per load, not once per record of a parent: it cannot depend on the parent "repos"',
    ]);
    expect(
      problemsOf(() =>
        validateSourceConfig(sourceWith([repos], { resource_defaults: { side_effects: true, poll: {} } })),
      ),
    ).toEqual([
      'resource_defaults.side_effects: not supported: side effects belong to one request: set `side_effects` on the resource that has them',
      'resource_defaults.poll: not supported: polling belongs to one child: set `poll` on that resource',
    ]);
  });
});

describe('poll', () => {
  const polled = (poll: unknown, extra: Record<string, unknown> = merged) => ({
    name: 'status',
    endpoint: {
      path: '/status/{{ stream_slice.id }}',
      params: { id: { type: 'resolve', resource: 'repos', field: 'id' } },
    },
    poll,
    ...extra,
  });
  const minimal = { field: 'state.code', final: ['done', 7, false] };

  it('is resolved in milliseconds with its defaults', () => {
    const full = { ...minimal, interval_seconds: 1.5, run_for_seconds: 0, max_age_seconds: 60 };
    const plan = resolveSource(sourceWith([repos, polled(minimal), { ...polled(full), name: 'other' }]), {
      env: {},
    });
    expect(resource(plan, 'status').poll).toEqual({
      field: 'state.code',
      final: ['done', 7, false],
      intervalMs: 20_000,
      runForMs: 300_000,
      maxAgeMs: 86_400_000,
    });
    expect(resource(plan, 'other').poll).toMatchObject({ intervalMs: 1500, runForMs: 0, maxAgeMs: 60_000 });
    expect(resource(plan, 'repos').poll).toBeNull();
  });

  it('is refused without a parent, with append (also the default) or replace, and with deletion detection', () => {
    const problems = problemsOf(() =>
      validateSourceConfig(
        sourceWith([
          { ...repos, poll: minimal, ...merged },
          { ...polled(minimal, {}), name: 'appended' },
          { ...polled(minimal, { primary_key: 'id', write_disposition: 'replace' }), name: 'replaced' },
          { ...polled(minimal, { ...merged, deletion_detection: true }), name: 'detected' },
        ]),
      ),
    );
    expect(problems).toEqual([
      'resources[3].deletion_detection: deletion detection is refused for "detected": its requests depend on the parent resource "repos", so no fetch sees the whole table',
      'resources[0].poll: "repos" has no parent: poll fetches a child again for each parent record until it is final (add a resolve param, or remove poll)',
      'resources[1].poll: poll needs write_disposition merge: with append (the default), each pass would append the child again',
      'resources[2].poll: poll needs write_disposition merge: with replace, the rows of the children already final (which are not fetched again) would be deleted',
    ]);
  });

  it('refuses unknown keys, a missing field or final, an empty final, and bad durations', () => {
    expect(
      problemsOf(() =>
        validateSourceConfig(
          sourceWith([
            repos,
            polled({ final: [], interval_seconds: 0, run_for_seconds: -1, max_age_seconds: 0, every: 5 }),
            { ...polled({ field: 'a', final: [{}] }), name: 'second' },
          ]),
        ),
      ),
    ).toEqual([
      'resources[1].poll.field: required',
      'resources[1].poll.final: must not be empty',
      'resources[1].poll.interval_seconds: must be greater than 0',
      'resources[1].poll.run_for_seconds: must be at least 0',
      'resources[1].poll.max_age_seconds: must be greater than 0',
      'resources[1].poll.every: unknown key; expected one of: field, final, interval_seconds, run_for_seconds, max_age_seconds',
      'resources[2].poll.final[0]: expected a string, number or boolean',
    ]);
  });
});

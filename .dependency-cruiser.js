// The module rules of docs/architecture.md ("Module rules"), checked by `npm run lint` (lint:deps).
// The composition roots (src/main.ts, src/server.ts, src/boot/, src/app.ts, src/cli/) wire everything and may import
// any file; every other file of src/ is held to these rules.

/** A feature's transport adapters: the only files of a module that may import the gateway or http. */
const ADAPTERS = '\\.(routes|frames|validation|middleware)\\.ts$';

/**
 * Imports allowed to break a rule, each naming the rule and why. None today; an entry here needs a reason
 * in its comment and is removed as soon as the code it excuses is fixed.
 */
const KNOWN_EXCEPTIONS = [];

/**
 * A rule, split so that each known exception's import is left out and every other import of the same
 * file is still checked.
 */
function withExceptions(rule) {
  const exceptions = KNOWN_EXCEPTIONS.filter((e) => e.rule === rule.name);
  if (!exceptions.length) return [rule];
  const fromNot = [...new Set(exceptions.map((e) => e.from))];
  const rules = [{ ...rule, from: { ...rule.from, pathNot: [...(rule.from.pathNot ?? []), ...fromNot] } }];
  for (const from of fromNot) {
    const toNot = exceptions.filter((e) => e.from === from).map((e) => e.to);
    rules.push({
      ...rule,
      comment: `${rule.comment} (known exceptions of ${from} are listed in KNOWN_EXCEPTIONS)`,
      from: { ...rule.from, path: from },
      to: { ...rule.to, pathNot: [...(rule.to.pathNot ?? []), ...toNot] },
    });
  }
  return rules;
}

const rules = [
  {
    name: 'no-circular',
    severity: 'error',
    comment: 'No import cycles, of values or of types.',
    from: { path: '^src/' },
    to: { circular: true },
  },
  {
    name: 'shared-infra-not-to-features',
    severity: 'error',
    comment: 'shared/, infra/ and config/ hold no business rules and import no feature, gateway or http.',
    from: { path: '^src/(shared|infra|config)/' },
    to: { path: '^src/(modules|gateway|http)/' },
  },
  {
    name: 'feature-public-api-only',
    severity: 'error',
    comment:
      "A module, the gateway or http imports another module only through that module's index.ts, never its other files.",
    from: { path: '^src/(modules/[^/]+|gateway|http)/' },
    to: { path: '^src/modules/[^/]+/', pathNot: ['^src/modules/[^/]+/index\\.ts$', '^src/$1/'] },
  },
  {
    name: 'features-not-to-gateway-internals',
    severity: 'error',
    comment:
      "A module's transport adapters import the gateway only through gateway.types.ts (its public face).",
    from: { path: '^src/modules/' },
    to: { path: '^src/gateway/', pathNot: ['^src/gateway/(index|gateway\\.types)\\.ts$'] },
  },
  {
    name: 'services-not-to-transports',
    severity: 'error',
    comment:
      'Services, stores and ports do not import the transports (gateway, http); only the adapters ' +
      '(*.routes.ts, *.frames.ts, *.validation.ts, *.middleware.ts) do.',
    from: { path: '^src/modules/', pathNot: [ADAPTERS] },
    to: { path: '^src/(gateway|http)/' },
  },
  {
    name: 'gateway-not-to-rest',
    severity: 'error',
    comment: "The gateway does not import the REST plumbing (http/) nor accounts' token internals.",
    from: { path: '^src/gateway/' },
    to: { path: ['^src/http/', '^src/modules/accounts/tokens\\.ts$'] },
  },
  {
    name: 'nothing-to-composition-roots',
    severity: 'error',
    comment: 'Only the composition roots import main.ts, server.ts and app.ts.',
    from: { path: '^src/', pathNot: ['^src/(main|server)\\.ts$'] },
    to: { path: '^src/(main|server|app)\\.ts$' },
  },
  {
    name: 'not-to-unresolvable',
    severity: 'error',
    comment: 'Every import resolves.',
    from: { path: '^src/' },
    to: { couldNotResolve: true },
  },
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: rules.flatMap(withExceptions),
  options: {
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};

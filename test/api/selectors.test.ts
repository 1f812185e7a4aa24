import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SelectorError,
  exactFieldValue,
  labelSelectorFromObject,
  labelSelectorToString,
  parseFieldSelector,
  parseLabelRequirements,
  parseLabelSelector,
} from '../../src/api/selectors.js';
import { node, pod, podObject } from './fixtures.js';

const L = (s: string, labels: Record<string, string> | undefined): boolean => parseLabelSelector(s)(labels);

describe('label selector strings', () => {
  it('matches equality, inequality and existence', () => {
    const labels = { app: 'web', tier: 'front' };
    assert.equal(L('app=web', labels), true);
    assert.equal(L('app==web', labels), true);
    assert.equal(L('app=db', labels), false);
    assert.equal(L('app!=db', labels), true);
    assert.equal(L('missing!=x', labels), true, '!= matches objects without the label');
    assert.equal(L('app', labels), true);
    assert.equal(L('!app', labels), false);
    assert.equal(L('!canary', labels), true);
    assert.equal(L('app=web,tier=front', labels), true);
    assert.equal(L('app=web,tier=back', labels), false);
    assert.equal(L(' app = web , tier ', labels), true, 'whitespace between tokens is ignored');
  });

  it('matches set-based requirements', () => {
    const labels = { env: 'prod' };
    assert.equal(L('env in (prod,staging)', labels), true);
    assert.equal(L('env in (dev)', labels), false);
    assert.equal(L('env notin (dev)', labels), true);
    assert.equal(L('env notin (prod)', labels), false);
    assert.equal(L('other notin (x)', labels), true);
    assert.equal(L('other in (x)', labels), false);
    assert.equal(L('env in (prod),!beta', labels), true);
  });

  it('treats empty values as upstream does', () => {
    assert.equal(L('a=', { a: '' }), true);
    assert.equal(L('a=', { a: 'x' }), false);
    assert.equal(L('a in ()', { a: '' }), true);
    assert.deepEqual(parseLabelRequirements('a in (x,,y)')[0]?.values, ['', 'x', 'y']);
  });

  it('supports gt and lt on integers', () => {
    assert.equal(L('n>3', { n: '4' }), true);
    assert.equal(L('n>3', { n: '3' }), false);
    assert.equal(L('n<3', { n: '2' }), true);
    assert.equal(L('n<3', { n: 'abc' }), false);
    assert.equal(L('n<3', {}), false);
  });

  it('accepts keywords as values and prefixed keys', () => {
    assert.equal(L('x in (in,notin)', { x: 'notin' }), true);
    assert.equal(L('app.kubernetes.io/name=web', { 'app.kubernetes.io/name': 'web' }), true);
  });

  it('matches everything when empty and nothing-safe on missing labels', () => {
    assert.equal(L('', undefined), true);
    assert.equal(L('   ', { a: 'b' }), true);
    assert.equal(L('a', undefined), false);
    assert.equal(L('!a', undefined), true);
  });

  it('sorts requirements by key', () => {
    assert.deepEqual(
      parseLabelSelector('b=1,a=2').requirements.map((r) => r.key),
      ['a', 'b'],
    );
  });

  it('rejects bad syntax with Kubernetes-shaped messages', () => {
    const cases: Array<[string, RegExp]> = [
      ['a in (x', /^unable to parse requirement: found '', expected: ',' or '\)'/],
      ['a in x', /^unable to parse requirement: found 'x' expected: '\('/],
      ['a=b c', /^found 'c', expected: ',' or 'end of string'/],
      ['a,', /^found '', expected: identifier after ','/],
      [',a', /^found ',', expected: !, identifier, or 'end of string'/],
      ['a>x', /^unable to parse requirement: .*the value must be an integer/],
      ['a@b=c', /^unable to parse requirement: <nil>: Invalid value: "a@b": name part must consist/],
      ['a=b@', /^unable to parse requirement: values\[0\]\[a\]: Invalid value: "b@"/],
      ['!a=b', /^found '=', expected: ',' or 'end of string'/],
      [`a=${'x'.repeat(64)}`, /must be no more than 63 characters/],
      ['a>=3', /^unable to parse requirement: found '=', expected: identifier/],
    ];
    for (const [sel, re] of cases) {
      assert.throws(() => parseLabelSelector(sel), (e: unknown) => e instanceof SelectorError && re.test(e.message), sel);
    }
  });
});

describe('label selector objects', () => {
  it('compiles matchLabels and matchExpressions', () => {
    const m = labelSelectorFromObject({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'In', values: ['front', 'edge'] },
        { key: 'canary', operator: 'DoesNotExist' },
        { key: 'zone', operator: 'Exists' },
        { key: 'env', operator: 'NotIn', values: ['dev'] },
      ],
    });
    assert.equal(m({ app: 'web', tier: 'edge', zone: 'a' }), true);
    assert.equal(m({ app: 'web', tier: 'edge', zone: 'a', canary: '1' }), false);
    assert.equal(m({ app: 'web', tier: 'back', zone: 'a' }), false);
    assert.equal(m({ app: 'web', tier: 'edge' }), false);
    assert.equal(m({ app: 'web', tier: 'edge', zone: 'a', env: 'dev' }), false);
  });

  it('treats a missing selector as nothing and an empty one as everything', () => {
    assert.equal(labelSelectorFromObject(undefined)({ a: 'b' }), false);
    assert.equal(labelSelectorFromObject(null).nothing, true);
    assert.equal(labelSelectorFromObject({})({ a: 'b' }), true);
    assert.equal(labelSelectorFromObject({})(undefined), true);
  });

  it('rejects invalid operators and values', () => {
    assert.throws(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['x'] }] }), /"Equals" is not a valid label selector operator/);
    assert.throws(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'In', values: [] }] }), /values set can't be empty/);
    assert.throws(() => labelSelectorFromObject({ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['x'] }] }), /must be empty/);
    assert.throws(() => labelSelectorFromObject({ matchLabels: { 'bad key': 'x' } }), SelectorError);
  });

  it('prints the canonical string form, which parses back to the same selector', () => {
    const sel = {
      matchLabels: { b: '2', a: '1' },
      matchExpressions: [
        { key: 'c', operator: 'In', values: ['y', 'x'] },
        { key: 'd', operator: 'NotIn', values: ['z'] },
        { key: 'e', operator: 'Exists' },
        { key: 'f', operator: 'DoesNotExist' },
      ],
    };
    const s = labelSelectorToString(sel);
    assert.equal(s, 'a=1,b=2,c in (x,y),d notin (z),e,!f');
    assert.equal(labelSelectorToString(parseLabelSelector(s).requirements), s);
    assert.equal(labelSelectorToString({}), '');
    assert.equal(labelSelectorToString(undefined), '');
  });
});

describe('field selectors', () => {
  const a = podObject('a', { namespace: 'ns1', nodeName: 'n1', phase: 'Running' });
  const b = podObject('b', { namespace: 'ns2', phase: 'Pending' });

  it('matches metadata and the kind\'s selectable fields', () => {
    assert.equal(parseFieldSelector('metadata.name=a', pod)(a), true);
    assert.equal(parseFieldSelector('metadata.name==a', pod)(b), false);
    assert.equal(parseFieldSelector('metadata.namespace!=ns1', pod)(b), true);
    assert.equal(parseFieldSelector('spec.nodeName=n1,status.phase=Running', pod)(a), true);
    assert.equal(parseFieldSelector('spec.nodeName=n1,status.phase!=Running', pod)(a), false);
    assert.equal(parseFieldSelector('spec.nodeName=', pod)(b), true, 'a missing field reads as empty');
    assert.equal(parseFieldSelector('', pod)(a), true);
    assert.equal(parseFieldSelector('metadata.name=a,,', pod)(a), true);
  });

  it('rejects unknown fields with the apiserver message', () => {
    assert.throws(() => parseFieldSelector('spec.nodeName=x', node), (e: unknown) => e instanceof SelectorError && e.message === 'field label not supported: spec.nodeName');
    assert.throws(() => parseFieldSelector('status.foo=x', pod), /field label not supported: status.foo/);
  });

  it('rejects terms without an operator and bad escapes', () => {
    assert.throws(() => parseFieldSelector('metadata.name', pod), /invalid selector: 'metadata.name'; can't understand 'metadata.name'/);
    assert.throws(() => parseFieldSelector('metadata.name=a=b', pod), /unescaped/);
    assert.throws(() => parseFieldSelector('metadata.name=a\\x', pod), /invalid escape sequence/);
  });

  it('unescapes values and exposes requirements', () => {
    const weird = podObject('x', { nodeName: 'a,b=c' });
    const m = parseFieldSelector('spec.nodeName=a\\,b\\=c', pod);
    assert.equal(m(weird), true);
    assert.equal(exactFieldValue(parseFieldSelector('metadata.name=foo', pod).requirements, 'metadata.name'), 'foo');
    assert.equal(exactFieldValue(parseFieldSelector('metadata.name!=foo', pod).requirements, 'metadata.name'), undefined);
  });
});

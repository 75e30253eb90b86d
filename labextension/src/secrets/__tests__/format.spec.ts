import {
  attachmentsEndpoint,
  describeSharing,
  isListed,
  parseNames,
  SECRET_NAME,
  secretChange,
  toggleListed,
  toggleName
} from '../format';
import type { ISecret } from '../tokens';

function secret(users: string[], groups: string[]): ISecret {
  return {
    name: 'TOKEN',
    description: '',
    owner: 'me',
    shared_with: { users, groups },
    created: '',
    updated: '',
    version: 1
  };
}

describe('secrets format', () => {
  it('parses comma and space separated names without duplicates', () => {
    expect(parseNames(' alice, bob  alice,,carol ')).toEqual([
      'alice',
      'bob',
      'carol'
    ]);
    expect(parseNames('')).toEqual([]);
  });

  it('describes sharing in words', () => {
    expect(describeSharing(secret([], []))).toBe('not shared');
    expect(describeSharing(secret(['bob'], ['analysts', 'ops']))).toBe(
      'users: bob; groups: analysts, ops'
    );
  });

  it('keeps the stored value when the value field is left empty', () => {
    const keep = secretChange({
      value: '',
      description: ' d ',
      users: 'a',
      groups: ''
    });
    expect('value' in keep).toBe(false);
    expect(keep).toEqual({
      description: 'd',
      shared_with: { users: ['a'], groups: [] }
    });
    expect(
      secretChange({ value: 'v', description: '', users: '', groups: 'g' })
        .value
    ).toBe('v');
  });

  it('accepts only names that are environment variable names', () => {
    expect(SECRET_NAME.test('API_TOKEN')).toBe(true);
    expect(SECRET_NAME.test('_x1')).toBe(true);
    expect(SECRET_NAME.test('1BAD')).toBe(false);
    expect(SECRET_NAME.test('has-dash')).toBe(false);
    expect(SECRET_NAME.test('')).toBe(false);
  });

  it('escapes notebook paths segment by segment', () => {
    expect(attachmentsEndpoint('/a b/c#d.ipynb')).toBe(
      'secret-attachments/a%20b/c%23d.ipynb'
    );
  });

  it('adds and removes attached names in order', () => {
    expect(toggleName(['A', 'B'], 'C', true)).toEqual(['A', 'B', 'C']);
    expect(toggleName(['A', 'B'], 'A', false)).toEqual(['B']);
    expect(toggleName(['A', 'B'], 'A', true)).toEqual(['A', 'B']);
  });
});

describe('offered names', () => {
  it('a click adds a name to the field, a second click takes it out', () => {
    expect(toggleListed('', 'lab')).toBe('lab');
    expect(toggleListed('analysts', 'lab')).toBe('analysts, lab');
    expect(toggleListed('analysts, lab', 'lab')).toBe('analysts');
    // What was typed by hand stays, tidied.
    expect(toggleListed(' alice  bob,', 'carol')).toBe('alice, bob, carol');
  });

  it('tells whether the field lists a name', () => {
    expect(isListed('alice, bob', 'bob')).toBe(true);
    expect(isListed('alice, bobby', 'bob')).toBe(false);
    expect(isListed('', 'bob')).toBe(false);
  });
});

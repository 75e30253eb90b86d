import { describeShareTarget, shareChoices, shareTargetOf } from '../format';
import type { IPrincipals } from '../tokens';

const principals: IPrincipals = {
  source: 'hub',
  hub: true,
  users: ['carol', 'alice', 'bob'],
  groups: [
    { name: 'lab', members: null },
    { name: 'analysts', members: ['carol'] }
  ]
};

describe('named shares', () => {
  it('builds share_with from the kind and the typed name', () => {
    expect(shareTargetOf('user', ' bob ')).toEqual({ user: 'bob' });
    expect(shareTargetOf('group', 'lab')).toEqual({ group: 'lab' });
    expect(shareTargetOf('user', '   ')).toBeNull();
  });

  it('says whom a link is shared with', () => {
    expect(describeShareTarget({ user: 'bob' })).toBe('with user bob');
    expect(describeShareTarget({ group: 'lab' })).toBe('with group lab');
    expect(describeShareTarget(null)).toBe('');
    expect(describeShareTarget(undefined)).toBe('');
  });

  it('offers the users or the group names, sorted', () => {
    expect(shareChoices(principals, 'user')).toEqual(['alice', 'bob', 'carol']);
    expect(shareChoices(principals, 'group')).toEqual(['analysts', 'lab']);
    expect(shareChoices(null, 'user')).toEqual([]);
  });
});

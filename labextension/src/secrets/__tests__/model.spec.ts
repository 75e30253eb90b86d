import { SecretsModel } from '../model';
import type { ISecret, ISecretChange, ISecretList } from '../tokens';

/** An in-memory secrets store answering as the REST API does. */
class FakeSecrets {
  secrets: ISecret[] = [];
  failList: string | null = null;
  puts: string[] = [];
  listDelay = 0;

  async list(): Promise<ISecretList> {
    const answer = {
      backend: 'local',
      user: 'ann',
      groups: [],
      secrets: this.secrets.slice()
    };
    if (this.listDelay) {
      await new Promise(resolve => setTimeout(resolve, this.listDelay));
    }
    if (this.failList) {
      throw new Error(this.failList);
    }
    return answer;
  }

  async put(name: string, change: ISecretChange): Promise<ISecret> {
    this.puts.push(name);
    const secret: ISecret = {
      name,
      description: change.description ?? '',
      owner: 'ann',
      shared_with: change.shared_with ?? { users: [], groups: [] },
      created: '',
      updated: '',
      version: 1
    };
    this.secrets.push(secret);
    return secret;
  }

  async remove(name: string): Promise<void> {
    this.secrets = this.secrets.filter(s => s.name !== name);
  }

  attachments(): Promise<any> {
    throw new Error('no notebook in these tests');
  }

  setAttachments(): Promise<any> {
    throw new Error('no notebook in these tests');
  }
}

describe('SecretsModel', () => {
  it('lists the secrets and says when it cannot', async () => {
    const server = new FakeSecrets();
    const model = new SecretsModel(server, () => null);
    let changes = 0;
    model.changed.connect(() => (changes += 1));
    await model.refresh();
    expect(model.listing?.user).toBe('ann');
    expect(model.path).toBeNull();
    expect(model.error).toBe('');
    server.failList = 'Failed to fetch';
    await model.refresh();
    expect(model.listing).toBeNull();
    expect(model.error).toBe('Cannot list secrets: Failed to fetch');
    expect(changes).toBe(2);
  });

  it('refuses to add a secret whose name is taken, and adds a new one', async () => {
    const server = new FakeSecrets();
    const model = new SecretsModel(server, () => null);
    const change = { value: 'v', description: 'd' };
    expect(await model.save('API_TOKEN', change, true)).toBeNull();
    expect(model.listing?.secrets.map(s => s.name)).toEqual(['API_TOKEN']);
    expect(await model.save('API_TOKEN', change, true)).toBe(
      'A secret named API_TOKEN already exists: edit it instead.'
    );
    expect(server.puts).toEqual(['API_TOKEN']);
    // An edit of the same name goes through.
    expect(await model.save('API_TOKEN', { description: 'e' }, false)).toBe(
      null
    );
    expect(server.puts).toEqual(['API_TOKEN', 'API_TOKEN']);
  });

  it('keeps the newest answer when refreshes overlap', async () => {
    const server = new FakeSecrets();
    const model = new SecretsModel(server, () => null);
    server.listDelay = 50;
    const slow = model.refresh();
    server.listDelay = 0;
    await model.save('B', { value: 'b' }, true);
    await slow;
    expect(model.listing?.secrets.map(s => s.name)).toEqual(['B']);
  });
});

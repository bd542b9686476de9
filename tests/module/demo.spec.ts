import { join } from 'path';
import { Child } from '../support/child';

test('npm start: the demo runs end to end and exits 0', async () => {
    const demo = new Child(join(__dirname, '..', '..', 'examples', 'demo.ts'));
    await demo.waitForLine('Every user was consumed exactly once.', 240_000);
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.lines.filter(v => /exited with code 0$/.test(v))).toHaveLength(3);
    // The dashboard's URL and token, and what it answered with that token.
    expect(demo.lines).toContainEqual(expect.stringMatching(/^Dashboard: http:\/\/127\.0\.0\.1:\d+\/_queue\/  \(log in with the token [0-9a-f]{36}\)$/));
    expect(demo.lines).toContainEqual(expect.stringContaining("'user/registered': 12 done in the last hour"));
    // The ORM examples: five registrations committed with their messages, one rolled back.
    expect(demo.lines).toContain('Each committed registration got exactly one welcome mail; the rolled-back one (user6) left no user and no message.');
    expect(demo.lines).toContain('  orm-app, orm-app --rollback and orm-worker exited with codes 0, 0, 0');
}, 480_000);

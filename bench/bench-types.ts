/** The benchmark message, the same for every system: `{ id, username }` plus a send stamp for latency. */
export type BenchMessage = { id: number, username: string, sentAt: number };

export const message = (id: number): BenchMessage => ({ id, username: 'user' + id, sentAt: 0 });

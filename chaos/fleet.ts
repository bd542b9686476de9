import { spawn } from 'child_process';
import { closeSync, openSync, readFileSync } from 'fs';
import { join } from 'path';

export type ChaosRole = 'producer' | 'worker';

/** One run of one process. A killed process is started again as the next incarnation of its slot (p1.0, p1.1, ...). */
export interface Incarnation {
    name: string;
    role: ChaosRole;
    slot: number;
    pid: number;
    /** Ledger (producer) or log (worker) of this incarnation. */
    file: string;
    stderrFile: string;
    spawnedAt: number;
    /** It said `ready` (connected; a worker consuming). Only ready processes are killed: on a loaded machine a start can take seconds. */
    readyAt?: number;
    /** Taken right before the SIGKILL was sent: no later delivery can be caused by this kill. */
    killSentAt?: number;
    /** When this process saw the exit: every line the process wrote is older. */
    exitedAt?: number;
    code?: number | null;
    signal?: NodeJS.Signals | null;
    /** Exited without being killed by the run and without finishing (producer) or being stopped (worker). */
    unexpected?: boolean;
    exited: Promise<void>;
}

export interface FleetScripts {
    producer: string;
    worker: string;
}

/**
 * Starts the producer and worker processes, kills one on request (kill -9) and
 * starts its slot again at once. A producer slot that finished stays finished.
 */
export class Fleet {
    readonly incarnations: Incarnation[] = [];
    protected stopping = false;
    protected generation = new Map<string, number>();
    protected producersLeft: number;
    protected producersDone!: () => void;
    /** Every producer slot finished its messages. */
    readonly producersFinished: Promise<void>;

    constructor(
        protected readonly scripts: FleetScripts,
        protected readonly dir: string,
        protected readonly producers: number,
        protected readonly workers: number,
        /** The argv[2] JSON of a new incarnation. */
        protected readonly configFor: (role: ChaosRole, slot: number, name: string, file: string) => object,
    ) {
        this.producersLeft = producers;
        process.on('exit', this.killOnExit);
        this.producersFinished = new Promise(resolve => this.producersDone = resolve);
        if (!producers) this.producersDone();
    }

    start(): void {
        for (let slot = 0; slot < this.workers; slot++) this.spawn('worker', slot);
        for (let slot = 0; slot < this.producers; slot++) this.spawn('producer', slot);
    }

    alive(): Incarnation[] {
        return this.incarnations.filter(v => v.exitedAt === undefined && v.killSentAt === undefined);
    }

    /** Alive and ready: what a kill may hit. */
    killable(): Incarnation[] {
        return this.alive().filter(v => v.readyAt !== undefined);
    }

    /** kill -9. False when the process was already gone (it finished meanwhile). */
    kill(incarnation: Incarnation): boolean {
        incarnation.killSentAt = Date.now();
        try {
            process.kill(incarnation.pid, 'SIGKILL');
            return true;
        } catch {
            incarnation.killSentAt = undefined;
            return false;
        }
    }

    /** No more restarts; SIGTERM to every worker (each releases its consumer and exits). Resolves false when one did not exit in time. */
    async stopWorkers(timeout: number): Promise<boolean> {
        this.stopping = true;
        const workers = this.alive().filter(v => v.role === 'worker');
        for (const worker of workers) process.kill(worker.pid, 'SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<false>(resolve => timer = setTimeout(() => resolve(false), timeout));
        const stopped = await Promise.race([Promise.all(workers.map(v => v.exited)).then(() => true), timedOut]);
        clearTimeout(timer);
        return stopped;
    }

    /** Kills whatever still runs (a failed run's cleanup). */
    async killAll(): Promise<void> {
        this.stopping = true;
        const alive = this.incarnations.filter(v => v.exitedAt === undefined);
        for (const incarnation of alive) {
            try {
                process.kill(incarnation.pid, 'SIGKILL');
            } catch {
                // Already gone.
            }
        }
        await Promise.all(alive.map(v => v.exited));
        process.off('exit', this.killOnExit);
    }

    /** If this process exits in the middle of a run, its children go with it. */
    protected readonly killOnExit = () => {
        for (const incarnation of this.incarnations) {
            if (incarnation.exitedAt !== undefined) continue;
            try {
                process.kill(incarnation.pid, 'SIGKILL');
            } catch {
                // Already gone.
            }
        }
    };

    stderrOf(incarnation: Incarnation, tail = 2000): string {
        try {
            return readFileSync(incarnation.stderrFile, 'utf8').slice(-tail);
        } catch {
            return '';
        }
    }

    protected spawn(role: ChaosRole, slot: number): void {
        const key = `${role[0]}${slot}`;
        const generation = this.generation.get(key) ?? 0;
        this.generation.set(key, generation + 1);
        const name = `${key}.${generation}`;
        const file = join(this.dir, `${name}.log`);
        const stderrFile = join(this.dir, `${name}.stderr`);
        const stderr = openSync(stderrFile, 'a');
        const child = spawn(process.execPath, [role === 'producer' ? this.scripts.producer : this.scripts.worker, JSON.stringify(this.configFor(role, slot, name, file))], {
            // stdin: a pipe that closes when this process is gone, so that the child ends too (exit-with-parent.ts).
            // stdout: the child's `ready`.
            stdio: ['pipe', 'pipe', stderr],
        });
        closeSync(stderr);
        let exited!: () => void;
        const incarnation: Incarnation = { name, role, slot, pid: child.pid!, file, stderrFile, spawnedAt: Date.now(), exited: new Promise(resolve => exited = resolve) };
        this.incarnations.push(incarnation);
        child.stdout!.once('data', () => incarnation.readyAt = Date.now());
        child.stdout!.resume();
        child.once('exit', (code, signal) => {
            Object.assign(incarnation, { exitedAt: Date.now(), code, signal });
            const finished = role === 'producer' && code === 0;
            // A worker that was still loading when the stop came dies of the SIGTERM before its handler exists:
            // no callback can have started before the handler (both are set up in the script's first turn), so it is a clean stop too.
            const stopped = role === 'worker' && this.stopping && (code === 0 || signal === 'SIGTERM');
            incarnation.unexpected = incarnation.killSentAt === undefined && !finished && !stopped;
            if (finished && --this.producersLeft === 0) this.producersDone();
            if (!finished && !this.stopping) this.spawn(role, slot);
            exited();
        });
    }
}

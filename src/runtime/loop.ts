/**
 * The one timer primitive every service uses: runs `tick` every `interval` ms (with downward
 * jitter so nodes do not tick in lockstep), can be poked to run at once, never overlaps ticks, and
 * `stop()` waits for the tick in flight. Errors are reported and the loop goes on.
 */
export interface LoopOptions {
  interval: number;
  /** Fraction of the interval removed at random from each wait (0 to 1). */
  jitter?: number;
  /** Delay before the first tick; default: immediately. */
  initialDelay?: number;
  onError?: (error: unknown) => void;
}

export class Loop {
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private running: Promise<void> | undefined;
  private pokedWhileRunning = false;
  private stopped = true;
  private readonly controller = new AbortController();

  constructor(
    readonly name: string,
    /** May return the delay (ms) before the next tick, overriding the interval once. */
    private readonly tick: (signal: AbortSignal) => Promise<void | number>,
    private readonly options: LoopOptions,
  ) {}

  get active(): boolean {
    return !this.stopped;
  }

  start(): this {
    if (!this.stopped) return this;
    this.stopped = false;
    this.schedule(this.options.initialDelay ?? 0);
    return this;
  }

  /** Run as soon as possible (coalesced with any tick already pending). */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pokedWhileRunning = true;
      return;
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.controller.abort();
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (delay === 0) {
      if (this.immediate) return;
      // setImmediate, not setTimeout(0) (which waits at least 1 ms): run after the I/O callbacks
      // already queued, so pokes from jobs finishing together collapse into one tick.
      const token = (this.immediate = setImmediate(() => {
        if (this.immediate === token) this.runTick();
      }));
      return;
    }
    this.immediate = undefined;
    this.timer = setTimeout(() => this.runTick(), delay);
  }

  private nextDelay(): number {
    const jitter = this.options.jitter ?? 0.1;
    return Math.max(0, Math.round(this.options.interval * (1 - Math.random() * jitter)));
  }

  private runTick(): void {
    this.timer = undefined;
    this.immediate = undefined;
    if (this.stopped || this.running) return;
    this.running = (async () => {
      let next: number | void = undefined;
      try {
        next = await this.tick(this.controller.signal);
      } catch (error) {
        this.options.onError?.(error);
      } finally {
        this.running = undefined;
        const again = this.pokedWhileRunning;
        this.pokedWhileRunning = false;
        this.schedule(again ? 0 : typeof next === "number" ? next : this.nextDelay());
      }
    })();
  }
}

/**
 * The durable outbox: every action a workflow runs for a call is a delivery, written before the
 * target is touched. Its id is derived from the workflow, the call and the action, so the same
 * call sent again (or concurrently) finds the delivery already claimed instead of making another.
 */

export type DeliveryStatus = 'pending' | 'running' | 'done' | 'dead';

export interface NewDelivery {
  /** `${workflow}:${callId}:${action}`: the same call's same action is one delivery, ever. */
  readonly id: string;
  readonly workflow: string;
  readonly callId: string;
  /** Index of the action in the workflow's list. */
  readonly action: number;
  readonly actionType: string;
  /** Deliveries with the same key are made in the order they were enqueued (one contact's calls). */
  readonly orderKey: string;
  /** What the action needs: the call's inputs and the matched contact, as JSON. */
  readonly payload: Readonly<Record<string, unknown>>;
  readonly maxAttempts: number;
  /** Set on an update: the id of the call's first delivery to the action, whose record it updates. */
  readonly updateOf?: string;
}

/** A call's delivery to one action, as a workflow submits it each time the call is posted. */
export interface Submission extends NewDelivery {
  /** The action can update what it made: a call that changed after its delivery was made gets an update. */
  readonly updates: boolean;
  /**
   * Which post of the call the payload is of, counted by the journal: a payload of an earlier post
   * (two posts racing) never replaces that of a later one.
   */
  readonly version: number;
}

export interface Delivery extends NewDelivery {
  readonly status: DeliveryStatus;
  readonly attempts: number;
  /** Epoch ms before which it is not tried (again). */
  readonly nextAt: number;
  /** The worker holding it while running, and until when (a crashed worker's lease runs out). */
  readonly lockedBy?: string;
  readonly lockedUntil?: number;
  readonly lastError?: string;
  /** What the target answered: its record's id and URL. */
  readonly resultId?: string;
  readonly resultUrl?: string;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface DeliveryResult {
  readonly id?: string;
  readonly url?: string;
}

export interface OutboxFilter {
  readonly status?: DeliveryStatus | readonly DeliveryStatus[];
  readonly workflow?: string;
  readonly limit?: number;
}

export interface OutboxStore {
  /** Adds the deliveries that do not exist yet, in one transaction; answers all of them as stored. */
  enqueue(items: readonly NewDelivery[], now: number): Promise<Delivery[]>;
  /**
   * Adds each delivery that does not exist yet, or brings the call's existing one up to date, in
   * one transaction. The latest of the call's deliveries to the action (the first, or its last
   * update) decides: same payload, nothing to do; not made yet (pending or dead), it takes the new
   * payload, so that its next attempt carries the call as it is; being made or made (running or
   * done), an update delivery `<id>:update:<n>` is added behind it (when the action makes updates).
   * Answers the first deliveries as stored.
   */
  submit(items: readonly Submission[], now: number): Promise<Delivery[]>;
  /**
   * Leases up to `limit` due deliveries to `worker` until `now + leaseMs`: pending ones whose time
   * has come, and running ones whose lease ran out (their worker died). Never one whose order key
   * has an earlier delivery not yet done or dead.
   */
  claim(worker: string, now: number, leaseMs: number, limit: number): Promise<Delivery[]>;
  /** Extends a running delivery's lease to `now + leaseMs`, while its attempt goes on. False if the lease was lost. */
  renew(id: string, worker: string, leaseMs: number, now: number): Promise<boolean>;
  /**
   * Ends at once the leases held by earlier runs of an instance (workers named `<instance>:...`,
   * other than `worker`): their process is gone, so their deliveries need not wait for the leases
   * to run out. Answers how many.
   */
  reclaim(instance: string, worker: string, now: number): Promise<number>;
  /**
   * Marks a leased delivery done with the target's answer and, in the same transaction, makes the
   * pending retries of the same workflow action due at `now`: its target has just taken a delivery,
   * so the calls waiting out a long backoff need not wait for their own turn. False if the lease
   * was lost.
   */
  complete(id: string, worker: string, result: DeliveryResult, now: number): Promise<boolean>;
  /** Records a failed attempt: tried again at `retryAt`, or dead when undefined. */
  fail(id: string, worker: string, error: string, retryAt: number | undefined, now: number): Promise<boolean>;
  get(id: string): Promise<Delivery | undefined>;
  forCall(workflow: string, callId: string): Promise<Delivery[]>;
  list(filter: OutboxFilter): Promise<Delivery[]>;
  counts(): Promise<Readonly<Record<DeliveryStatus, number>>>;
  /** Removes done and dead deliveries last changed before `olderThan` (epoch ms); never pending or running ones. */
  purge(olderThan: number): Promise<number>;
  /** A dead (or pending) delivery is tried again at once, with its attempts reset. */
  retry(id: string, now: number): Promise<boolean>;
  /** Removes a delivery that is not running. */
  drop(id: string): Promise<boolean>;
}

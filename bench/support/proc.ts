// What Linux says about processes and the machine (/proc): memory, threads, CPU ticks.
import { readFileSync } from 'node:fs';

export interface ProcStatus {
  readonly vmRssMb: number | null;
  readonly vmHwmMb: number | null;
}

function status(pid: number | undefined): string | null {
  if (pid === undefined) return null;
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
}

function field(text: string, name: string): number | null {
  const m = new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : null;
}

/** Resident memory now (VmRSS) and at its peak (VmHWM), in MB. */
export function procStatus(pid: number | undefined): ProcStatus {
  const text = status(pid);
  const mb = (name: string) => {
    const kb = text === null ? null : field(text, name);
    return kb === null ? null : Math.round(kb / 1024);
  };
  return { vmRssMb: mb('VmRSS'), vmHwmMb: mb('VmHWM') };
}

/** Resident memory in kB and the number of threads of one process, or null when it is gone. */
export function memoryAndThreads(pid: number | undefined): { rssKb: number; threads: number } | null {
  const text = status(pid);
  if (text === null) return null;
  const rssKb = field(text, 'VmRSS');
  const threads = field(text, 'Threads');
  return rssKb === null || threads === null ? null : { rssKb, threads };
}

export interface MachineTicks {
  readonly processes: number;
  readonly interrupts: number;
  readonly steal: number;
  readonly busy: number;
  readonly total: number;
}

/**
 * CPU time of the machine in clock ticks (/proc/stat): processes (user + nice + system), interrupts
 * (irq + softirq: the loopback network mostly), steal (taken by the hypervisor), busy and total.
 */
export function machineTicks(): MachineTicks | null {
  try {
    const first = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    const f = first.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
    const processes = user + nice + system;
    return {
      processes,
      interrupts: irq + softirq,
      steal,
      busy: processes + irq + softirq + steal,
      total: processes + idle + iowait + irq + softirq + steal,
    };
  } catch {
    return null;
  }
}

/** CPU time (user + system) of one process, in clock ticks (/proc/<pid>/stat). */
export function processTicks(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return null;
  }
}

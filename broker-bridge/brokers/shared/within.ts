// Bounds a broker acknowledgement: a hung connection must turn into an error the bridge can act
// on (spool and retry), never into a publish that waits forever.

/** Settles like `work`, or rejects with `timeoutMessage` after `ms`; leaves no timer behind. */
export async function within<T>(work: Promise<T>, ms: number, timeoutMessage: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(timeoutMessage)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

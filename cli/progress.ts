// Progress for long work: on a terminal a spinner with the elapsed time on one rewritten line,
// elsewhere one line when the work starts and one when it ends (logs stay readable in CI).
export interface Progress {
  done(result: string): void;
  fail(result: string): void;
}

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function progress(what: string, out: NodeJS.WriteStream = process.stderr): Progress {
  const t0 = Date.now();
  const secs = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  if (!out.isTTY) {
    out.write(`${what}…\n`);
    return {
      done: (result) => out.write(`${what}: ${result} (${secs()})\n`),
      fail: (result) => out.write(`${what}: ${result} (${secs()})\n`),
    };
  }
  let frame = 0;
  const draw = () => out.write(`\r\x1b[2K${FRAMES[frame++ % FRAMES.length]} ${what}… ${secs()}`);
  draw();
  const timer = setInterval(draw, 100);
  const end = (mark: string, result: string) => {
    clearInterval(timer);
    out.write(`\r\x1b[2K${mark} ${what}: ${result} (${secs()})\n`);
  };
  return { done: (r) => end('✓', r), fail: (r) => end('✗', r) };
}

// The topic grammar of common/topic.ts, over bytes: "/"-separated non-empty levels, no "*" or ">",
// no control characters or whitespace, at most 1024 bytes and 64 levels. Checked on every
// rendered topic, because template values come from requests.
import { isJsWhitespace, utf8Decode, utf8SeqLen } from "./utf8";

export const MAX_TOPIC_BYTES: i32 = 1024;
export const MAX_TOPIC_LEVELS: i32 = 64;

/** Null when [p, p+n) is a valid concrete topic, else the reason. */
export function topicProblem(p: usize, n: i32, checkLength: bool = true): string | null {
  if (n == 0) return "it is empty";
  if (checkLength && n > MAX_TOPIC_BYTES) return "it is longer than " + MAX_TOPIC_BYTES.toString() + " bytes";
  let levels = 1;
  let levelLen = 0;
  let i = 0;
  while (i < n) {
    const c = <u32>load<u8>(p + <usize>i);
    if (c == 0x2f) {
      if (levelLen == 0) return 'it has an empty level (leading, trailing or doubled "/")';
      if (++levels > MAX_TOPIC_LEVELS) return "it has more than " + MAX_TOPIC_LEVELS.toString() + " levels";
      levelLen = 0;
      i++;
      continue;
    }
    if (c == 0x2a || c == 0x3e) return 'a level contains "*" or ">" (wildcards belong in subscriptions only)';
    if (c < 0x80) {
      // ASCII fast path (the usual topic).
      if (c == 0x20 || (c >= 0x09 && c <= 0x0d)) return "a level contains whitespace";
      if (c < 0x20 || c == 0x7f) return "a level contains a control character";
      levelLen++;
      i++;
      continue;
    }
    const len = utf8SeqLen(p, i, n);
    if (len == 0) return "it is not valid UTF-8";
    const cp = utf8Decode(p, i, len);
    if (cp < 0x20 || cp == 0x7f) return "a level contains a control character";
    if (isJsWhitespace(cp)) return "a level contains whitespace";
    levelLen += len;
    i += len;
  }
  if (levelLen == 0) return 'it has an empty level (leading, trailing or doubled "/")';
  return null;
}

/** A value spliced into a topic may not add levels: no "/". (The rest is checked on the whole topic.) */
export function topicValueOk(p: usize, n: i32): bool {
  for (let i = 0; i < n; i++) if (load<u8>(p + <usize>i) == 0x2f) return false;
  return true;
}

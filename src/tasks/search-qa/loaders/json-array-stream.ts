/**
 * Streams the elements of one array-valued key of a top-level JSON object (TriviaQA's `"Data"`)
 * without parsing the whole file: a byte scanner tracks nesting and strings, cuts out each element
 * and JSON-parses it alone. Memory stays at one element plus one read chunk, whatever the file size.
 */
import { createReadStream } from 'node:fs';
import { DataError } from '../../../errors.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COLON = 0x3a;

/** Yields each element of `object[key]` where `object` is the file's top-level JSON object. */
export async function* streamJsonArrayElements(
  filePath: string,
  key: string,
  chunkBytes = 1 << 20,
): AsyncGenerator<unknown> {
  let depth = 0;
  let inString = false;
  let escaped = false;
  let stringStart = -1; // position of a depth-1 string's opening quote in `pending`
  let lastKey: string | undefined; // the most recent depth-1 string, if followed by a colon
  let expectColonAfter: string | undefined;
  let inTargetArray = false;
  let found = false;
  let elementParts: Buffer[] = [];
  let elementStart = -1; // start of the current element in the current chunk (depth 2 inside the array)
  let keyParts: Buffer[] = [];

  for await (const chunk of createReadStream(filePath, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>) {
    if (elementStart >= 0) elementStart = 0;
    if (stringStart >= 0) stringStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (byte === BACKSLASH) escaped = true;
        else if (byte === QUOTE) {
          inString = false;
          if (stringStart >= 0) {
            keyParts.push(chunk.subarray(stringStart, i + 1));
            expectColonAfter = JSON.parse(Buffer.concat(keyParts).toString('utf8')) as string;
            keyParts = [];
            stringStart = -1;
          }
        }
        continue;
      }
      if (byte === QUOTE) {
        inString = true;
        if (depth === 1 && !inTargetArray) stringStart = i;
        continue;
      }
      if (byte === COLON && depth === 1 && expectColonAfter !== undefined) {
        lastKey = expectColonAfter;
        expectColonAfter = undefined;
        continue;
      }
      if (byte > 0x20 && byte !== COLON) expectColonAfter = undefined;
      if (byte === OPEN_BRACE || byte === OPEN_BRACKET) {
        depth++;
        if (depth === 2 && byte === OPEN_BRACKET && lastKey === key) {
          inTargetArray = true;
          found = true;
        } else if (depth === 3 && inTargetArray) {
          elementStart = i;
        }
      } else if (byte === CLOSE_BRACE || byte === CLOSE_BRACKET) {
        if (depth === 3 && inTargetArray && elementStart >= 0) {
          elementParts.push(chunk.subarray(elementStart, i + 1));
          yield parseElement(Buffer.concat(elementParts), filePath, key);
          elementParts = [];
          elementStart = -1;
        }
        depth--;
        if (depth === 1 && inTargetArray) inTargetArray = false;
        if (depth === 1) lastKey = undefined;
      }
    }
    if (elementStart >= 0) elementParts.push(chunk.subarray(elementStart));
    if (stringStart >= 0) keyParts.push(chunk.subarray(stringStart));
  }
  if (depth !== 0 || inString)
    throw new DataError(`${filePath}: the JSON ends inside an unclosed value (truncated file?)`);
  if (!found) throw new DataError(`${filePath}: expected a top-level object with an array under "${key}"`);
}

function parseElement(bytes: Buffer, filePath: string, key: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (error) {
    throw new DataError(`${filePath}: an element of "${key}" is not valid JSON (${(error as Error).message})`);
  }
}

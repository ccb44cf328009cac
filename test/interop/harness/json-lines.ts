/** The JSON-lines output of the client drivers (sarama, Python scripts, kcat -J) as objects. */

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** A line of driver output; every driver line carries a `type` ("record", "summary", ...). */
export interface JsonLine extends JsonObject {
  readonly type: string;
}

/** Each non-empty line of `text` as a JSON object; a line that is not names its number. */
export function parseJsonLines(text: string): JsonObject[] {
  const out: JsonObject[] = [];
  const lines = text.split('\n');
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new Error(`line ${index + 1} is not JSON: ${line.slice(0, 200)}`, { cause: error });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new Error(`line ${index + 1} is not a JSON object: ${line.slice(0, 200)}`);
    }
    out.push(value as JsonObject);
  }
  return out;
}

/** Lines of the drivers' own output, which all carry a string `type`. */
export function parseDriverLines(text: string): JsonLine[] {
  return parseJsonLines(text).map((line, index) => {
    if (typeof line['type'] !== 'string') {
      throw new Error(`output object ${index + 1} has no "type": ${JSON.stringify(line)}`);
    }
    return line as JsonLine;
  });
}

/** The lines of one type, e.g. `ofType(lines, 'record')`. */
export function ofType(lines: readonly JsonLine[], type: string): JsonLine[] {
  return lines.filter((line) => line.type === type);
}

/** The single line of a type (e.g. the closing "summary"); anything else is an error. */
export function onlyOfType(lines: readonly JsonLine[], type: string): JsonLine {
  const found = ofType(lines, type);
  const [first] = found;
  if (found.length !== 1 || first === undefined) {
    throw new Error(`expected one "${type}" line, found ${found.length}`);
  }
  return first;
}

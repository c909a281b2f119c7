// gguf_check.mjs -- an independent GGUF reader's view of a file (the npm
// package @huggingface/gguf), printed as `gguf_check list` prints it, so
// the two can be compared line by line. Usage: node gguf_check.mjs FILE
// (run where `import "@huggingface/gguf"` resolves: NODE_PATH or a folder
// with node_modules).
import { gguf } from "@huggingface/gguf";
const { typedMetadata: metadata, tensorInfos } = await gguf(process.argv[2], { allowLocalFile: true, typedMetadata: true });
const names = ["u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"];
const lines = [];
for (const [k, e] of Object.entries(metadata)) {
  if (k === "version" || k === "tensor_count" || k === "kv_count") continue;
  let line = `kv ${k} ${names[e.type]}`;
  if (e.type === 9) line += ` ${e.value.length}`;
  else if (e.type === 8) line += ` ${e.value}`;
  else if (e.type !== 6 && e.type !== 12 && e.type !== 7) line += ` ${e.value}`;
  lines.push(line);
}
for (const t of tensorInfos) lines.push(`tensor ${t.name} ${t.shape.map(String).join(",")} ${t.dtype}`);
console.log(lines.join("\n"));

// Run a .nam file in NAM's C++ core (NeuralAmpModelerCore compiled to WebAssembly, npm @opendaw/nam-wasm), block by
// block, as a plugin does. Called by helpers/export/nam_core.py; written by hand because the package is a JavaScript
// module with no command line of its own.
//
//   node nam_core.mjs PACKAGE_DIR MODEL.nam INPUT.f32 OUTPUT.f32 BLOCK SAMPLE_RATE
//
// INPUT/OUTPUT are raw little-endian float32 samples; stdout gets one JSON line (the loudness the core read).
// Exit status 3: the core refused the file.
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"

const [pkg, modelPath, inputPath, outputPath, blockArg, rateArg] = process.argv.slice(2)
const { createNamModule, NamWasmModule } = await import(pathToFileURL(join(pkg, "dist", "index.js")).href)
const block = Number(blockArg)
// Node has no fetch for file URLs: hand the module its binary.
const emscripten = await createNamModule({ wasmBinary: readFileSync(join(pkg, "dist", "nam.wasm")) })
const nam = NamWasmModule.fromModule(emscripten, block)
nam.setSampleRate(Number(rateArg))
nam.setMaxBufferSize(block)
const id = nam.createInstance()
let loaded = false
try {
  loaded = Boolean(nam.loadModel(id, readFileSync(modelPath, "utf8")))
} catch (err) {
  loaded = false
}
if (!loaded) {
  process.stderr.write(`NAM's core refused ${modelPath}\n`)
  process.exit(3)
}
const raw = readFileSync(inputPath)
const x = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4)
const y = new Float32Array(x.length)
const out = new Float32Array(block)
for (let start = 0; start < x.length; start += block) {
  const n = Math.min(block, x.length - start)
  nam.process(id, x.subarray(start, start + n), out.subarray(0, n))
  y.set(out.subarray(0, n), start)
}
writeFileSync(outputPath, Buffer.from(y.buffer))
// What the core read from the file's metadata, for the caller to compare.
const loudness = nam.hasModelLoudness(id) ? nam.getModelLoudness(id) : null
process.stdout.write(JSON.stringify({ loudness }) + "\n")

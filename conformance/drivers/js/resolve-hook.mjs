// Resolution and loading as a bundler does it, for the SDK examples:
// "futu-api/proto" -> futu-api/proto.js, and named imports from that CommonJS file.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (err) {
    if (err && (err.code === "ERR_UNSUPPORTED_DIR_IMPORT" || err.code === "ERR_MODULE_NOT_FOUND")) {
      for (const suffix of [".js", "/index.js"]) {
        try { return await next(specifier + suffix, context); } catch {}
      }
    }
    throw err;
  }
}

const CJS_WITH_NAMES = /\/node_modules\/(futu-api|moomoo-api)\/proto\.js$/;

export async function load(url, context, next) {
  const result = await next(url, context);
  if (result.format === "commonjs" && CJS_WITH_NAMES.test(url)) {
    const path = fileURLToPath(url);
    const names = Object.keys(createRequire(url)(path)).filter((k) => /^[A-Za-z_$][\w$]*$/.test(k));
    const source = [
      `import { createRequire } from "node:module";`,
      `const m = createRequire(${JSON.stringify(url)})(${JSON.stringify(path)});`,
      `export default m;`,
      ...names.map((n) => `export const ${n} = m[${JSON.stringify(n)}];`),
    ].join("\n");
    return { format: "module", source, shortCircuit: true };
  }
  return result;
}

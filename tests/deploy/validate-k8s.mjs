// Validates Kubernetes objects against the upstream API schemas.
//
//   node validate-k8s.mjs OBJECTS.json     (a JSON array of objects)
//
// Each object is checked by the validator that kubernetes-models generated
// (with ajv) from the Kubernetes OpenAPI document for its apiVersion and kind
// (@kubernetes-models/prometheus-operator for monitoring.coreos.com): types,
// formats, enums and required fields. Those validators allow unknown fields,
// so a second check over the same schema finds them, as `kubectl
// --validate=strict` does: the validator reads every field its schema knows
// (and enumerates the keys of free-form maps), and a field it never read is
// not in the schema. Prints one line per problem; exits 1 if there is any.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

// The model module of apiVersion/kind, e.g. kubernetes-models/apps/v1/Deployment.
function modelPath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com") {
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  }
  return `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
}

// The schema validator the model registers (its ../../_schemas/X.js import).
async function schemaValidator(apiVersion, kind) {
  // The packages export "./<group>/<version>/*" as "./<group>/<version>/*.js";
  // resolved by hand (import.meta.resolve needs a flag before node 20).
  const model = join(here, "node_modules", `${modelPath(apiVersion, kind)}.js`);
  if (!existsSync(model)) throw Object.assign(new Error(model), { code: "ERR_MODULE_NOT_FOUND" });
  const source = readFileSync(model, "utf8");
  const m = /from"(\.\.\/(?:\.\.\/)*_schemas\/[A-Za-z0-9]+\.js)"/.exec(source);
  if (!m) throw new Error(`no schema validator in ${model}`);
  return (await import(pathToFileURL(join(dirname(model), m[1])).href)).validate;
}

// A proxy per object that records which fields the validator read.
function tracker() {
  const records = [];
  const proxies = new WeakMap();
  function track(value, path) {
    if (value === null || typeof value !== "object") return value;
    if (proxies.has(value)) return proxies.get(value);
    const record = { path, value, read: new Set(), enumerated: false };
    records.push(record);
    const proxy = new Proxy(value, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string") return v;
        record.read.add(prop);
        return Object.hasOwn(target, prop) ? track(v, `${path}/${prop}`) : v;
      },
      has(target, prop) {
        if (typeof prop === "string") record.read.add(prop);
        return Reflect.has(target, prop);
      },
      ownKeys(target) {
        record.enumerated = true;
        return Reflect.ownKeys(target);
      },
    });
    proxies.set(value, proxy);
    return proxy;
  }
  function unknownFields() {
    const out = [];
    for (const r of records) {
      if (Array.isArray(r.value) || r.enumerated) continue;
      for (const key of Object.keys(r.value)) {
        if (!r.read.has(key)) out.push(`${r.path}/${key}`);
      }
    }
    return out;
  }
  return { track, unknownFields };
}

export async function validateObject(obj) {
  const problems = [];
  if (!obj || typeof obj !== "object") return ["not an object"];
  const { apiVersion, kind } = obj;
  if (typeof apiVersion !== "string" || typeof kind !== "string") return ["no apiVersion or kind"];
  if (!obj.metadata || typeof obj.metadata.name !== "string" || !obj.metadata.name) {
    problems.push("metadata.name is missing");
  }
  let validate;
  try {
    validate = await schemaValidator(apiVersion, kind);
  } catch (e) {
    return [`${apiVersion} ${kind} is not a known Kubernetes kind (${e.code || e.message})`];
  }
  const t = tracker();
  if (!validate(t.track(obj, ""))) {
    for (const e of validate.errors) {
      problems.push(`${e.instancePath || "/"} ${e.message || e.keyword} ${JSON.stringify(e.params)}`);
    }
  }
  for (const field of t.unknownFields()) problems.push(`${field}: unknown field`);
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const objects = JSON.parse(readFileSync(process.argv[2], "utf8"));
  let bad = 0;
  for (const obj of objects) {
    const name = `${obj?.kind}/${obj?.metadata?.name}`;
    const problems = await validateObject(obj);
    for (const p of problems) console.log(`${name}: ${p}`);
    if (problems.length) bad += 1;
    else console.log(`${name}: valid ${obj.apiVersion}`);
  }
  process.exit(bad ? 1 : 0);
}

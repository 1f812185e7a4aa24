// @peculiar/x509 2.x resolves its ASN.1 parsers through tsyringe, which
// refuses to load without the Reflect metadata API (normally the
// "reflect-metadata" package). tsyringe only needs define/get/getOwn, so this
// provides exactly those rather than adding a dependency. Must be imported
// before @peculiar/x509. If a real polyfill is already present it is kept.
type MetadataMap = Map<unknown, unknown>;

interface ReflectMetadataApi {
  defineMetadata(key: unknown, value: unknown, target: object, property?: string | symbol): void;
  getOwnMetadata(key: unknown, target: object, property?: string | symbol): unknown;
  getMetadata(key: unknown, target: object, property?: string | symbol): unknown;
}

const reflect = Reflect as typeof Reflect & Partial<ReflectMetadataApi>;

if (typeof reflect.getMetadata !== 'function') {
  const store = new WeakMap<object, Map<string | symbol | undefined, MetadataMap>>();
  const own = (target: object, property: string | symbol | undefined, create: boolean): MetadataMap | undefined => {
    let byProperty = store.get(target);
    if (!byProperty) {
      if (!create) return undefined;
      store.set(target, (byProperty = new Map()));
    }
    let map = byProperty.get(property);
    if (!map && create) byProperty.set(property, (map = new Map()));
    return map;
  };
  const api: ReflectMetadataApi = {
    defineMetadata(key, value, target, property) {
      own(target, property, true)!.set(key, value);
    },
    getOwnMetadata(key, target, property) {
      return own(target, property, false)?.get(key);
    },
    getMetadata(key, target, property) {
      // Like reflect-metadata: look up the prototype chain (class inheritance).
      for (let t: object | null = target; t; t = Object.getPrototypeOf(t) as object | null) {
        const map = own(t, property, false);
        if (map?.has(key)) return map.get(key);
      }
      return undefined;
    },
  };
  Object.assign(Reflect, api);
}

export {};

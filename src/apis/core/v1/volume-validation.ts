// Semantic checks of a pod's volumes: unique DNS-label names, exactly one
// source each, safe relative file paths in projections.
import type { FieldError } from '../../types.js';
import { duplicate, forbidden, invalid, required } from './field-errors.js';
import { check, configKey, dns1123Label } from './name-validation.js';
import { validateClaimSpec } from './persistentvolumeclaim.js';
import type { PersistentVolumeClaimSpec, Volume } from './types.js';
import { VOLUME_SOURCES } from './volume.js';

type KeyItems = { items?: Array<{ key?: string; path?: string; mode?: number }> };

function relativePath(field: string, path: string | undefined): FieldError[] {
  if (path === undefined) return [];
  if (path.startsWith('/')) return [invalid(field, path, 'must be a relative path')];
  if (path.split('/').includes('..')) return [invalid(field, path, "must not contain '..'")];
  if (path.startsWith('..')) return [invalid(field, path, "must not start with '..'")];
  return [];
}

function fileMode(field: string, mode: number | undefined): FieldError[] {
  return mode !== undefined && (mode < 0 || mode > 0o777) ? [invalid(field, mode, 'must be a number between 0 and 0777 (octal), both inclusive')] : [];
}

function keyItems(field: string, src: KeyItems & { defaultMode?: number }): FieldError[] {
  const errs = fileMode(`${field}.defaultMode`, src.defaultMode);
  (src.items ?? []).forEach((it, i) => {
    errs.push(...check(`${field}.items[${i}].key`, it.key, configKey));
    errs.push(...relativePath(`${field}.items[${i}].path`, it.path));
    errs.push(...fileMode(`${field}.items[${i}].mode`, it.mode));
  });
  return errs;
}

export function validateVolumes(field: string, volumes: Volume[] | undefined): { errors: FieldError[]; names: Set<string> } {
  const errors: FieldError[] = [];
  const names = new Set<string>();
  (volumes ?? []).forEach((v, i) => {
    const p = `${field}[${i}]`;
    if (v.name !== undefined) {
      errors.push(...check(`${p}.name`, v.name, dns1123Label));
      if (names.has(v.name)) errors.push(duplicate(`${p}.name`, v.name));
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v[s] !== undefined);
    if (sources.length === 0) errors.push(required(p, 'must specify a volume type'));
    if (sources.length > 1) errors.push(forbidden(`${p}.${sources[1]}`, 'may not specify more than 1 volume type'));

    const cm = v.configMap as KeyItems | undefined;
    if (cm) errors.push(...keyItems(`${p}.configMap`, cm));
    const secret = v.secret as KeyItems | undefined;
    if (secret) errors.push(...keyItems(`${p}.secret`, secret));
    const dapi = v.downwardAPI as { items?: Array<{ path?: string; mode?: number }>; defaultMode?: number } | undefined;
    if (dapi) {
      errors.push(...fileMode(`${p}.downwardAPI.defaultMode`, dapi.defaultMode));
      (dapi.items ?? []).forEach((it, j) => errors.push(...relativePath(`${p}.downwardAPI.items[${j}].path`, it.path)));
    }
    const projected = v.projected as { sources?: Array<Record<string, KeyItems & { path?: string }>>; defaultMode?: number } | undefined;
    if (projected) {
      errors.push(...fileMode(`${p}.projected.defaultMode`, projected.defaultMode));
      (projected.sources ?? []).forEach((s, j) => {
        const sp = `${p}.projected.sources[${j}]`;
        const kinds = Object.keys(s).filter((k) => s[k] !== undefined);
        if (kinds.length !== 1) errors.push(forbidden(sp, 'may not specify more than 1 volume type per source'));
        for (const k of ['configMap', 'secret'] as const) if (s[k]) errors.push(...keyItems(`${sp}.${k}`, s[k]));
        if (s.serviceAccountToken) errors.push(...relativePath(`${sp}.serviceAccountToken.path`, s.serviceAccountToken.path));
        if (s.downwardAPI) (s.downwardAPI.items ?? []).forEach((it, n) => errors.push(...relativePath(`${sp}.downwardAPI.items[${n}].path`, it.path)));
      });
    }
    const hostPath = v.hostPath as { path?: string } | undefined;
    if (hostPath?.path !== undefined && !hostPath.path) errors.push(required(`${p}.hostPath.path`));
    const ephemeral = v.ephemeral as { volumeClaimTemplate?: { spec?: PersistentVolumeClaimSpec } } | undefined;
    if (ephemeral?.volumeClaimTemplate)
      errors.push(...validateClaimSpec(`${p}.ephemeral.volumeClaimTemplate.spec`, ephemeral.volumeClaimTemplate.spec));
    const pvc = v.persistentVolumeClaim as { claimName?: string } | undefined;
    if (pvc?.claimName !== undefined && !pvc.claimName) errors.push(required(`${p}.persistentVolumeClaim.claimName`));
  });
  return { errors, names };
}

// The targets a fleet or a bot may name. GET /targets may list others (e.g. the test stack's loopback, whose
// gateways are handed over, not created): the API's Target type says which, checked here both ways, so a target
// added to or removed from it fails the build until this list follows.
import { api, unwrap, type Schemas } from "../api/client";
import { useLoad } from "./ui";

type TargetOut = Schemas["TargetOut"];
const NAMEABLE = { local: true, ecs: true, cloudrun: true, aci: true } satisfies Record<Schemas["Target"], true>;

export function nameable(targets: TargetOut[]): TargetOut[] {
  return targets.filter((target) => target.name in NAMEABLE);
}

export function useTargets() {
  return useLoad(async () => nameable(unwrap(await api().GET("/targets")).items), []);
}

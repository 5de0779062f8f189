import { describe, expect, it } from "vitest";
import { cliProcessKey, sharedSightings } from "../../provider/sightings";

describe("sharedSightings: refresh's notes reach the update's provider process", () => {
  it("two instances with the same CLI key see each other's notes; another key sees none", () => {
    const key = `${process.pid}-test${Date.now()}`;
    const refresh = sharedSightings(key);
    const update = sharedSightings(key);
    refresh.record("Endpoint endpoint/192.168.0.1 on 192.0.2.1:22", "root@192.0.2.1:22/endpoint/192.168.0.1");
    expect(update.lookup("Endpoint endpoint/192.168.0.1 on 192.0.2.1:22")).toBe("root@192.0.2.1:22/endpoint/192.168.0.1");
    expect(update.lookup("Endpoint endpoint/192.168.0.2 on 192.0.2.1:22")).toBeUndefined();
    expect(sharedSightings(`${process.pid}-other${Date.now()}`).lookup("Endpoint endpoint/192.168.0.1 on 192.0.2.1:22")).toBeUndefined();
  });

  it("names the CLI process by pid and start time (the provider's grandparent)", () => {
    expect(cliProcessKey()).toMatch(/^\d+-\d+$/);
  });
});

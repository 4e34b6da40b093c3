import { Device, type types } from 'mediasoup-client';

/**
 * The mediasoup-client Device a client's meetings share: loaded once, and handed to every
 * meeting whose router has the same RTP capabilities (they come from the server's codec
 * configuration, so on one deployment they are the same for every meeting). Loading one builds
 * a throwaway RTCPeerConnection and an SDP offer, 30–100 ms of a join on a 2-core machine; a
 * second meeting, or a rebuild, no longer pays it. A router with other capabilities (a server
 * configured otherwise) gets a Device of its own, which is then the shared one.
 */
export class MeetingDevices {
  private current: { capabilities: string; device: Promise<Device> } | null = null;

  /** `make`: a new, unloaded Device (tests pass one on mediasoup-client's FakeHandler). */
  constructor(private readonly make: () => Device = () => new Device()) {}

  /**
   * A Device loaded with `routerRtpCapabilities`: the shared one when it was loaded (or is
   * loading) with the same.
   */
  device(routerRtpCapabilities: types.RtpCapabilities): Promise<Device> {
    const capabilities = JSON.stringify(routerRtpCapabilities);
    if (this.current?.capabilities === capabilities) return this.current.device;
    const device = this.make();
    const entry = {
      capabilities,
      device: device.load({ routerRtpCapabilities }).then(() => device),
    };
    this.current = entry;
    // A failed load is not kept: the next meeting loads again.
    entry.device.catch(() => {
      if (this.current === entry) this.current = null;
    });
    return entry.device;
  }
}

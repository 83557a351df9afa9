/** Real waiting, for use cases that poll (core takes it as a dependency so its tests never sleep). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

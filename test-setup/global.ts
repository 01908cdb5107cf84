// Filled in as samples are added: builds every sample component once per run.
export default async function setup(): Promise<void> {}

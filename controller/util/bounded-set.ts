/** A set that forgets its oldest members past a size, for remembering recent delivery and job ids without growing. */
export class BoundedSet<T> {
  private readonly items = new Set<T>();
  constructor(private readonly max: number) {}

  has(item: T): boolean {
    return this.items.has(item);
  }

  /** Adds the item; false when it was already there. */
  add(item: T): boolean {
    if (this.items.has(item)) return false;
    this.items.add(item);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value as T);
    return true;
  }

  delete(item: T): void {
    this.items.delete(item);
  }
}

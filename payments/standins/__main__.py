"""Run both payment stand-ins in the foreground: ``python -m payments.standins``."""

from __future__ import annotations

import argparse
import threading

from payments.standins import start_payment_standins


def main() -> None:
    parser = argparse.ArgumentParser(description="Loopback Stripe and Adyen stand-ins")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--stripe-port", type=int, default=12111)
    parser.add_argument("--adyen-port", type=int, default=12112)
    args = parser.parse_args()
    standins = start_payment_standins(args.host, args.stripe_port, args.adyen_port)
    print(f"Stripe stand-in on {standins.stripe.url}, Adyen stand-in on {standins.adyen.url}")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        standins.stop()


if __name__ == "__main__":
    main()
